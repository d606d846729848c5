"""Writes the PyTorch fixtures the conformance tests read: state dicts saved
by PyTorch with `safetensors.torch.save_file` (what a user would do), and,
for each, an input and the outputs and gradients PyTorch computes from it.
Run with torch and safetensors installed: python3 make_torch_fixtures.py

- torch_zoo.safetensors: an nn.Sequential of the 2-D layers (Conv2d with
  bias and with groups, BatchNorm2d, MaxPool2d, ConvTranspose2d,
  AdaptiveAvgPool2d, Flatten, Linear; see zoo()).
- torch_zoo1d.safetensors: Conv1d, BatchNorm1d and Linear (zoo1d()).
- torch_lenet5.safetensors: LeNet-5 as the library lays it out
  (features / classifier).
- torch_*_expected.safetensors: "input", "eval_output" (eval mode),
  "train_output" (training mode, the batch's statistics), "grad.<name>" for
  every parameter and "grad.input" of sum(train_output * probe), with
  "probe", and "after.<name>" for every buffer after that training batch.
"""
import torch
from torch import nn
from safetensors.torch import save_file


def zoo():
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),            # 0
        nn.BatchNorm2d(4),                        # 1
        nn.ReLU(),                                # 2
        nn.MaxPool2d(2),                          # 3
        nn.Conv2d(4, 6, 3, padding=1, groups=2, bias=False),  # 4
        nn.ReLU(),                                # 5
        nn.ConvTranspose2d(6, 4, 2, stride=2),    # 6
        nn.Tanh(),                                # 7
        nn.AdaptiveAvgPool2d(2),                  # 8
        nn.Flatten(),                             # 9
        nn.Linear(16, 3),                         # 10
    )


def zoo1d():
    return nn.Sequential(nn.Conv1d(3, 4, 3, padding=1), nn.BatchNorm1d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(24, 2))


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))

    def forward(self, x):
        f = self.features(x)
        return self.classifier(f.flatten(1))


def write(name, model, input_shape):
    model.train()
    with torch.no_grad():                      # batch norm's running statistics away from their start
        for _ in range(3):
            model(torch.randn(input_shape) * 2 + 0.5)
    state = {k: v.clone().contiguous() for k, v in model.state_dict().items()}
    save_file(state, f"torch_{name}.safetensors", metadata={"written_by": f"torch {torch.__version__}"})

    x = torch.randn(input_shape, requires_grad=True)
    expected = {"input": x.detach().clone()}
    model.eval()
    with torch.no_grad():
        expected["eval_output"] = model(x)
    model.train()
    y = model(x)
    probe = torch.randn(y.shape)
    (y * probe).sum().backward()
    expected["train_output"] = y.detach()
    expected["probe"] = probe
    expected["grad.input"] = x.grad
    for k, p in model.named_parameters():
        expected["grad." + k] = p.grad
    for k, b in model.named_buffers():
        expected["after." + k] = b.clone()
    save_file({k: v.contiguous() for k, v in expected.items()}, f"torch_{name}_expected.safetensors")


torch.manual_seed(0)
write("zoo", zoo(), (2, 2, 8, 8))
write("zoo1d", zoo1d(), (2, 3, 6))
write("lenet5", LeNet5(), (2, 1, 28, 28))
