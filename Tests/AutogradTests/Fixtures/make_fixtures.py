"""Writes the fixtures the checkpoint tests read: a safetensors file made by
Python's `safetensors` package (the reference implementation), so the tests
check that files written elsewhere load here. Run with numpy and safetensors
installed: python3 make_fixtures.py"""
import numpy as np
from safetensors.numpy import save_file

tensors = {
    "layer.weight": np.arange(6, dtype=np.float32).reshape(2, 3) / 4,
    "layer.bias": np.array([-1.5, 2.25], dtype=np.float32),
    "scale": np.array(3.0, dtype=np.float64),
    "table": np.linspace(0, 1, 8, dtype=np.float64).reshape(2, 2, 2),
}
save_file(tensors, "from_python.safetensors", metadata={"written_by": "safetensors-python"})
