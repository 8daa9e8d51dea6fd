import sys

from seganypet.cli import main

sys.exit(main())
