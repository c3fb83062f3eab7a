"""Planning: co-financing plans for one project and envelope allocations for a call.

Both are small mixed-integer programs solved with HiGHS through
``scipy.optimize.milp``: :mod:`.plan` (which funders a project applies to, and
for how much) and :mod:`.allocate` (which applications a fund finances, and
how much, under share constraints). The layer sits above the workspace and the
evaluation and below the web and the command line; it reads canonical frames
and rankings, never files.
"""
