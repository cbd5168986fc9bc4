"""Examples of applications using mrap-edge (not part of the product; they use it as an application would)."""
