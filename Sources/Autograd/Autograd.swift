// The library users import: `import Autograd` brings in every layer.
//
//   AutogradGraph   compile: tracer, simplify, fusion, schedule, memory plan
//   AutogradNN      modules, losses, optimizers, datasets, checkpoints, Trainer
//   AutogradOps     primitives and their op tables, eager tape, backward, JVP
//   AutogradTensor  storage, shapes, dtypes, creation, random, printing
//
// Each layer imports only the ones below it; the hooks that let a lower
// layer reach a higher one (ExecutionObserver and its refinements) are
// declared in the lower layer.
@_exported import AutogradTensor
@_exported import AutogradOps
@_exported import AutogradNN
@_exported import AutogradGraph
