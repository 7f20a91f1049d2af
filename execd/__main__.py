import sys

from execd.cli import main

sys.exit(main())
