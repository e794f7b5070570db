"""One package per paper: ``model.py`` (registered models), ``experiments.py`` (registered
claims and the paper card), ``README.md`` (the paper card's long form). A paper's ``__init__``
imports nothing, so listing models loads no experiments; :mod:`paperzoo.claims.catalog` lists
the papers and loads their modules on demand. A paper imports shared modules and only a paper it
builds on."""
