"""The course pipeline: homework authored once in ``solutions/``, released to ``exercises/``,
checked and graded with nbgrader (the ``course`` extra). See ``solutions/README.md``."""
