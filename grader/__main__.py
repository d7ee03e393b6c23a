"""`python -m grader ...`: the same command line as the `grader` console script."""

from grader.cli import main

main()
