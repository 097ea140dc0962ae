"""`python -m bot` is `qabot`."""

from bot.cli import main

main()
