import sys

from devtools.local.server import main

sys.exit(main())
