"""One module per network family: its knobs, plan, names, naming-scheme rules, source conventions and
recognition hints (slimcompat.arch.family lists them). A new family is one module here, one line in
slimcompat.arch.registry, and its tests."""
