"""A thin, torch-free client of ``seganypet serve`` (httpx + numpy), for scripts and plugins.

Example::

    from seganypet.client import Client

    with Client("http://127.0.0.1:8765", token=None) as client:
        scan = client.open("patient1/SUV.nii.gz")         # a path under the server's --root
        state = scan.add_point((120, 98, 301))            # voxel (i, j, k); positive click
        print(state["stats"]["suv_max"], state["stats"]["volume_ml"])
        scan.add_point((118, 90, 305), positive=False)
        scan.labels                                       # (I, J, K) uint8, kept in sync
        scan.download("labels.nii.gz")
"""

from seganypet.client.client import Client, ClientError, RemoteSession

__all__ = ["Client", "ClientError", "RemoteSession"]
