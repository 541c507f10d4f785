"""`python -m helpline.cli`: the `helpline` command."""

import sys

from helpline.cli import main

sys.exit(main())
