// REST calls of the viewer. Every error becomes an ApiError carrying the server's one-line
// {"detail"}; the token (if the server has one) comes from the URL fragment #token=...
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

export function readToken() {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const token = fragment.get("token") || window.sessionStorage.getItem("seganypet-token");
  if (token) window.sessionStorage.setItem("seganypet-token", token);
  return token;
}

export class Api {
  constructor(token) {
    this.headers = token ? { Authorization: `Bearer ${token}` } : {};
  }

  async request(method, url, body) {
    const init = { method, headers: { ...this.headers } };
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (err) {
      throw new ApiError(0, `the server cannot be reached (${err.message})`);
    }
    if (!response.ok) {
      let detail = response.statusText;
      try {
        detail = (await response.json()).detail ?? detail;
      } catch (_) { /* not JSON: keep the status text */ }
      if (response.status === 401) detail += " (open the viewer as /?path=...#token=YOUR_TOKEN)";
      throw new ApiError(response.status, String(detail));
    }
    return response;
  }

  async json(method, url, body) {
    return (await this.request(method, url, body)).json();
  }
}
