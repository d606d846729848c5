// The program of the consumer-package test (Consumer/test.sh): a package
// made from the README's dependency block, importing the library as users do.
import Autograd

let x = Tensor([1.0, 2.0, 3.0]).requiringGrad()
let y = (x * x).sum()
y.backward()
print("y = \(y.item()), dy/dx = \(x.grad!.scalars)")
