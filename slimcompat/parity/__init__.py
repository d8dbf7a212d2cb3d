"""Parity between implementations: layer names, then numbers per endpoint, the first divergence named.

`slimcompat parity A B [--weights FILE]` (cli/parity.py) or `check.parity(...)`:
name parity of the two sides' variables through canonical names
(name_parity), endpoints from one forward pass per side (implementation,
slim_graph, keras_models, endpoints), metrics per endpoint against a tolerance
per device (metrics, numeric, environment), and on failure experiments naming
the cause (diagnosis). Reports: render_text, render_json (its docstring lists
the JSON keys), render_html. One side's endpoints can be saved and checked
elsewhere (reference); the PyTorch side (torch_side) runs against such a file
with TensorFlow never imported.
"""
