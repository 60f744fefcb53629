import sys

from deeptheory.cli import main

sys.exit(main())
