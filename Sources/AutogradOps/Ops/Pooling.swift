import AutogradTensor
import CKernels

/// Where a 2-D pool's windows lie over planes of `height`×`width` with an
/// output of `outHeight`×`outWidth`: a kernel, stride, padding and dilation,
/// or PyTorch's adaptive windows.
package struct PoolGeometry: Hashable, Sendable {
    package var height = 0, width = 0, outHeight = 0, outWidth = 0
    package var kernelH = 1, kernelW = 1, strideH = 1, strideW = 1
    package var padH = 0, padW = 0, dilationH = 1, dilationW = 1
    package var adaptive = false
    package var countIncludePad = true

    func desc(planes: Int) -> ag_pool2d_desc {
        ag_pool2d_desc(planes: Int64(planes), h: Int64(height), w: Int64(width), oh: Int64(outHeight),
                       ow: Int64(outWidth), kh: Int64(kernelH), kw: Int64(kernelW), stride_h: Int64(strideH),
                       stride_w: Int64(strideW), pad_h: Int64(padH), pad_w: Int64(padW), dil_h: Int64(dilationH),
                       dil_w: Int64(dilationW), adaptive: adaptive ? 1 : 0, count_include_pad: countIncludePad ? 1 : 0)
    }

    /// Checks that `shape` is [N, C, height, width] and returns N·C.
    func planes(_ op: String, _ shape: [Int], plane: (Int, Int)) -> Int {
        guard shape.count == 4, shape[2] == plane.0, shape[3] == plane.1 else {
            opError(op, "expects [N, C, \(plane.0), \(plane.1)], got \(ShapeRules.describe(shape))")
        }
        return shape[0] * shape[1]
    }

    /// PyTorch's output length of a plain pool (floor or ceil mode).
    static func outputLength(_ size: Int, kernel: Int, stride: Int, padding: Int, dilation: Int, ceilMode: Bool) -> Int {
        let span = size + 2 * padding - dilation * (kernel - 1) - 1
        if span < 0 { return 0 }
        var out = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1
        // The last window must start inside the input or its left padding.
        if ceilMode && (out - 1) * stride >= size + padding { out -= 1 }
        return out
    }

    /// Each window's index of its maximum, from `x` (contiguous, [N, C, H, W]).
    func argmax(_ x: Tensor, values: Tensor?) -> [Int64] {
        var idx: [Int64] = []
        argmax(x, values: values, into: &idx)
        return idx
    }

    /// The same into `idx`, whose storage is reused when it has the size
    /// already (a compiled plan's steps allocate nothing here).
    func argmax(_ x: Tensor, values: Tensor?, into idx: inout [Int64]) {
        let planes = x.shape[0] * x.shape[1]
        let count = planes * outHeight * outWidth
        var d = desc(planes: planes)
        if idx.count != count { idx = [Int64](repeating: 0, count: count) }
        let out = values ?? Tensor(uninitializedShape: [count], dtype: x.dtype)
        idx.withUnsafeMutableBufferPointer { ag_maxpool2d(x.dtype.c, &d, x.pointer, out.pointer, $0.baseAddress) }
    }
}

/// Where the maxima were in a max pool's last forward run, kept for its
/// backward pass as PyTorch keeps its indices: the op and the scatter and
/// gather its derivatives make share one, so the backward pass (eager, or
/// a compiled plan's, which runs after its forward) does not search the
/// windows again. An empty or wrongly sized one is recomputed from x.
package final class SavedIndices: @unchecked Sendable {
    var values: [Int64] = []
    package init() {}

    /// The saved positions when they are for `count` windows, else x's own.
    func positions(_ geometry: PoolGeometry, _ x: Tensor, count: Int) -> [Int64] {
        values.count == count ? values : geometry.argmax(x, values: nil)
    }
}

/// The maximum of each window (NaN wins, as in PyTorch). Its derivative
/// routes the gradient to each window's maximum.
package struct MaxPool2dOp: Primitive {
    package let geometry: PoolGeometry
    /// Filled by each forward run, read by the backward pass.
    package let saved = SavedIndices()
    package var name: String { "maxPool2d" }
    package var identity: OpIdentity? { nil }

    /// Whether forward runs write the maxima's positions for the backward
    /// pass. Off where nothing will differentiate the result (as PyTorch's
    /// pool without a gradient): a derivative taken anyway finds them
    /// again from x.
    package let keepsPositions: Bool

    package init(geometry: PoolGeometry, keepsPositions: Bool = true) {
        self.geometry = geometry
        self.keepsPositions = keepsPositions
    }

    /// Whether applying a pool to `x` here may be differentiated: it will
    /// be recorded, carries a tangent, or is being traced by `compile`.
    static func mayDifferentiate(_ x: Tensor) -> Bool {
        let flags = ThreadFlags.current.pointee
        return x.requiresGrad && !flags.gradDisabled || x.tangent != nil || flags.observer != nil
    }

    package func outputShape(_ inputs: [[Int]]) -> [Int] {
        let x = inputs[0]
        _ = geometry.planes(name, x, plane: (geometry.height, geometry.width))
        return [x[0], x[1], geometry.outHeight, geometry.outWidth]
    }

    package func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        forwardAllocating(inputs, shape: shape, dtype: inputs[0].dtype)
    }

    package func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        let x = inputs[0]
        guard x.isContiguous, output.isContiguous else { return false }
        if keepsPositions {
            geometry.argmax(x, values: output, into: &saved.values)
        } else {
            var d = geometry.desc(planes: x.shape[0] * x.shape[1])
            ag_maxpool2d(x.dtype.c, &d, x.pointer, output.pointer, nil)
        }
        return true
    }

    package func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        [MaxPool2dScatter(geometry: geometry, saved: saved)(inputs[0], grad)]
    }

    package func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        MaxPool2dGather(geometry: geometry, saved: saved)(inputs[0], tangents[0]!)
    }
}

/// From x (where the maxima are) and a pooled-shape g: g placed at each
/// window's maximum in an x-shaped tensor of zeros. Linear in g; x only chooses.
package struct MaxPool2dScatter: Primitive {
    package let geometry: PoolGeometry
    package let saved: SavedIndices
    package var name: String { "maxPool2dBackward" }
    package var identity: OpIdentity? { nil }

    package func outputShape(_ inputs: [[Int]]) -> [Int] {
        let (x, g) = (inputs[0], inputs[1])
        _ = geometry.planes(name, x, plane: (geometry.height, geometry.width))
        guard g == [x[0], x[1], geometry.outHeight, geometry.outWidth] else {
            opError(name, "gradient \(ShapeRules.describe(g)) does not match the pooled shape of \(ShapeRules.describe(x))")
        }
        return x
    }

    package func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        forwardAllocating(inputs, shape: shape, dtype: inputs[0].dtype)
    }

    package func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        let (x, g) = (inputs[0], inputs[1])
        guard x.isContiguous, g.isContiguous, output.isContiguous else { return false }
        let idx = saved.positions(geometry, x, count: g.scalarCount)
        var d = geometry.desc(planes: x.shape[0] * x.shape[1])
        idx.withUnsafeBufferPointer { ag_pool2d_scatter(x.dtype.c, &d, $0.baseAddress, g.pointer, output.pointer) }
        return true
    }

    package func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        [nil, needs[1] ? MaxPool2dGather(geometry: geometry, saved: saved)(inputs[0], grad) : nil]
    }

    package func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        tangents[1].map { self(inputs[0], $0) } ?? Tensor.zeros(like: output)
    }
}

/// From x (where the maxima are) and an x-shaped v: v read at each
/// window's maximum, pooled-shaped. Linear in v; x only chooses.
package struct MaxPool2dGather: Primitive {
    package let geometry: PoolGeometry
    package let saved: SavedIndices
    package var name: String { "maxPool2dGather" }
    package var identity: OpIdentity? { nil }

    package func outputShape(_ inputs: [[Int]]) -> [Int] {
        let (x, v) = (inputs[0], inputs[1])
        _ = geometry.planes(name, x, plane: (geometry.height, geometry.width))
        guard v == x else { opError(name, "values \(ShapeRules.describe(v)) must be shaped like \(ShapeRules.describe(x))") }
        return [x[0], x[1], geometry.outHeight, geometry.outWidth]
    }

    package func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        forwardAllocating(inputs, shape: shape, dtype: inputs[0].dtype)
    }

    package func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        let (x, v) = (inputs[0], inputs[1])
        guard x.isContiguous, v.isContiguous, output.isContiguous else { return false }
        let idx = saved.positions(geometry, x, count: output.scalarCount)
        var d = geometry.desc(planes: x.shape[0] * x.shape[1])
        idx.withUnsafeBufferPointer { ag_pool2d_gather(x.dtype.c, &d, $0.baseAddress, v.pointer, output.pointer) }
        return true
    }

    package func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        [nil, needs[1] ? MaxPool2dScatter(geometry: geometry, saved: saved)(inputs[0], grad) : nil]
    }

    package func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        tangents[1].map { self(inputs[0], $0) } ?? Tensor.zeros(like: output)
    }
}

/// The mean of each window, or (`adjoint`) its adjoint: each pooled value
/// spread evenly over what its window read. Each is the other's derivative.
package struct AvgPool2dOp: Primitive {
    package let geometry: PoolGeometry
    package let adjoint: Bool
    package var name: String { adjoint ? "avgPool2dBackward" : "avgPool2d" }

    package func outputShape(_ inputs: [[Int]]) -> [Int] {
        let x = inputs[0]
        let g = geometry
        _ = g.planes(name, x, plane: adjoint ? (g.outHeight, g.outWidth) : (g.height, g.width))
        return [x[0], x[1]] + (adjoint ? [g.height, g.width] : [g.outHeight, g.outWidth])
    }

    package func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        forwardAllocating(inputs, shape: shape, dtype: inputs[0].dtype)
    }

    package func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        let x = inputs[0]
        guard x.isContiguous, output.isContiguous else { return false }
        var d = geometry.desc(planes: x.shape[0] * x.shape[1])
        if adjoint { ag_avgpool2d_backward(x.dtype.c, &d, x.pointer, output.pointer) }
        else { ag_avgpool2d(x.dtype.c, &d, x.pointer, output.pointer) }
        return true
    }

    package func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        [AvgPool2dOp(geometry: geometry, adjoint: !adjoint)(grad)]
    }

    package func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        self(tangents[0]!)
    }
}

// MARK: - Public functions

/// Runs a pool on [N, C, H, W], or on [C, H, W] as one image (as PyTorch accepts).
private func pooling(_ op: String, _ x: Tensor, _ body: (Tensor) -> Tensor) -> Tensor {
    switch x.rank {
    case 4: return body(x)
    case 3:
        let y = body(x.reshaped([1] + x.shape))
        return y.reshaped(Array(y.shape.dropFirst()))
    default:
        opError(op, "expects [N, C, H, W] or [C, H, W], got \(ShapeRules.describe(x.shape))")
    }
}

/// The geometry of a plain pool from PyTorch's arguments, checked.
private func plainPool(_ op: String, _ x: Tensor, kernelSize k: IntOrPair, stride: IntOrPair?, padding p: IntOrPair,
                       dilation d: IntOrPair, ceilMode: Bool) -> PoolGeometry {
    let s = stride ?? k
    guard k.first >= 1, k.second >= 1, s.first >= 1, s.second >= 1, d.first >= 1, d.second >= 1 else {
        opError(op, "kernel size \(k), stride \(s) and dilation \(d) must be at least 1")
    }
    guard p.first >= 0, p.second >= 0, 2 * p.first <= k.first, 2 * p.second <= k.second else {
        opError(op, "padding \(p) must be between 0 and half the kernel size \(k)")
    }
    let (h, w) = (x.shape[x.rank - 2], x.shape[x.rank - 1])
    let oh = PoolGeometry.outputLength(h, kernel: k.first, stride: s.first, padding: p.first, dilation: d.first, ceilMode: ceilMode)
    let ow = PoolGeometry.outputLength(w, kernel: k.second, stride: s.second, padding: p.second, dilation: d.second, ceilMode: ceilMode)
    guard oh >= 1, ow >= 1 else {
        opError(op, "input \(ShapeRules.describe(x.shape)) is too small for kernel \(k.first)×\(k.second) with stride \(s), padding \(p), dilation \(d): the output would be \(oh)×\(ow)")
    }
    return PoolGeometry(height: h, width: w, outHeight: oh, outWidth: ow, kernelH: k.first, kernelW: k.second,
                        strideH: s.first, strideW: s.second, padH: p.first, padW: p.second,
                        dilationH: d.first, dilationW: d.second)
}

/// 2-D max pooling (`torch.nn.functional.max_pool2d`) of [N, C, H, W] (or
/// [C, H, W]): the largest value of each `kernelSize` window, windows
/// `stride` apart (default: the kernel size), over the input padded with
/// −∞ by `padding` (at most half the kernel) and spread by `dilation`;
/// `ceilMode` rounds the output size up. A NaN in a window is its maximum.
/// The gradient goes to each window's maximum (to one of them when tied).
///
/// ```swift
/// let y = maxPool2d(x, kernelSize: 2)                      // [8, 16, 32, 32] → [8, 16, 16, 16]
/// let z = maxPool2d(x, kernelSize: 3, stride: 2, padding: 1, ceilMode: true)
/// ```
public func maxPool2d(_ input: Tensor, kernelSize: IntOrPair, stride: IntOrPair? = nil, padding: IntOrPair = 0,
                      dilation: IntOrPair = 1, ceilMode: Bool = false) -> Tensor {
    pooling("maxPool2d", input) { x in
        MaxPool2dOp(geometry: plainPool("maxPool2d", x, kernelSize: kernelSize, stride: stride, padding: padding,
                                      dilation: dilation, ceilMode: ceilMode),
                    keepsPositions: MaxPool2dOp.mayDifferentiate(x))(x)
    }
}

/// ``maxPool2d(_:kernelSize:stride:padding:dilation:ceilMode:)`` that also
/// returns where each maximum was, as PyTorch's `return_indices=True`: its
/// position in its H×W plane (row · W + column), as values of the input's
/// dtype (exact below 2²⁴ positions per plane in float32). The indices carry no gradient.
///
/// ```swift
/// let (values, indices) = maxPool2dWithIndices(x, kernelSize: 2)
/// ```
public func maxPool2dWithIndices(_ input: Tensor, kernelSize: IntOrPair, stride: IntOrPair? = nil,
                                 padding: IntOrPair = 0, dilation: IntOrPair = 1,
                                 ceilMode: Bool = false) -> (values: Tensor, indices: Tensor) {
    // The positions are those the op found and keeps for its backward pass.
    var found: [Int64] = []
    let values = pooling("maxPool2d", input) { x in
        let op = MaxPool2dOp(geometry: plainPool("maxPool2d", x, kernelSize: kernelSize, stride: stride,
                                                 padding: padding, dilation: dilation, ceilMode: ceilMode))
        let y = op(x)
        found = op.saved.values
        return y
    }
    let indices = Tensor(shape: values.shape, scalars: found.map { Double($0) }, dtype: input.dtype)
    return (values, indices)
}

/// 2-D average pooling (`torch.nn.functional.avg_pool2d`) of [N, C, H, W]
/// (or [C, H, W]): the mean of each `kernelSize` window, windows `stride`
/// apart (default: the kernel size), zero padding of `padding` (at most
/// half the kernel) counted in the divisor when `countIncludePad`;
/// `ceilMode` rounds the output size up (a window that then runs past the
/// padding divides by what it covers).
///
/// ```swift
/// let y = avgPool2d(x, kernelSize: 2)
/// let z = avgPool2d(x, kernelSize: 3, stride: 1, padding: 1, countIncludePad: false)
/// ```
public func avgPool2d(_ input: Tensor, kernelSize: IntOrPair, stride: IntOrPair? = nil, padding: IntOrPair = 0,
                      ceilMode: Bool = false, countIncludePad: Bool = true) -> Tensor {
    pooling("avgPool2d", input) { x in
        var g = plainPool("avgPool2d", x, kernelSize: kernelSize, stride: stride, padding: padding, dilation: 1,
                          ceilMode: ceilMode)
        g.countIncludePad = countIncludePad
        return AvgPool2dOp(geometry: g, adjoint: false)(x)
    }
}

/// PyTorch's adaptive windows for an output of `outputSize` over `x`.
private func adaptivePool(_ op: String, _ x: Tensor, _ size: IntOrPair) -> PoolGeometry {
    guard size.first >= 1, size.second >= 1 else { opError(op, "output size must be at least 1, got \(size)") }
    let (h, w) = (x.shape[x.rank - 2], x.shape[x.rank - 1])
    guard h >= 1, w >= 1 else { opError(op, "input \(ShapeRules.describe(x.shape)) has an empty plane") }
    return PoolGeometry(height: h, width: w, outHeight: size.first, outWidth: size.second, adaptive: true)
}

/// Adaptive 2-D average pooling (`torch.nn.functional.adaptive_avg_pool2d`):
/// an output of `outputSize` whatever the input's size, output (i, j)
/// averaging rows ⌊i·H/oh⌋ ..< ⌈(i+1)·H/oh⌉ and the same for columns.
///
/// ```swift
/// let features = adaptiveAvgPool2d(x, outputSize: 1)   // global average: [N, C, 1, 1]
/// ```
public func adaptiveAvgPool2d(_ input: Tensor, outputSize: IntOrPair) -> Tensor {
    pooling("adaptiveAvgPool2d", input) { x in
        AvgPool2dOp(geometry: adaptivePool("adaptiveAvgPool2d", x, outputSize), adjoint: false)(x)
    }
}

/// Adaptive 2-D max pooling (`torch.nn.functional.adaptive_max_pool2d`):
/// the maximum over the windows of ``adaptiveAvgPool2d(_:outputSize:)``.
///
/// ```swift
/// let y = adaptiveMaxPool2d(x, outputSize: [6, 6])
/// ```
public func adaptiveMaxPool2d(_ input: Tensor, outputSize: IntOrPair) -> Tensor {
    pooling("adaptiveMaxPool2d", input) { x in
        MaxPool2dOp(geometry: adaptivePool("adaptiveMaxPool2d", x, outputSize),
                    keepsPositions: MaxPool2dOp.mayDifferentiate(x))(x)
    }
}

/// Runs a 2-D pool on [N, C, L] (or [C, L]) as planes of height 1.
private func pooling1d(_ op: String, _ x: Tensor, _ body: (Tensor) -> Tensor) -> Tensor {
    guard x.rank == 3 || x.rank == 2 else {
        opError(op, "expects [N, C, L] or [C, L], got \(ShapeRules.describe(x.shape))")
    }
    let y = body(x.reshaped(Array(x.shape.dropLast()) + [1, x.shape[x.rank - 1]]))
    return y.reshaped(Array(y.shape.dropLast(2)) + [y.shape[y.rank - 1]])
}

/// 1-D max pooling (`torch.nn.functional.max_pool1d`) of [N, C, L] or [C, L].
///
/// ```swift
/// let y = maxPool1d(Tensor.randn([4, 8, 100]), kernelSize: 2)   // [4, 8, 50]
/// ```
public func maxPool1d(_ input: Tensor, kernelSize: Int, stride: Int? = nil, padding: Int = 0, dilation: Int = 1,
                      ceilMode: Bool = false) -> Tensor {
    pooling1d("maxPool1d", input) { x in
        maxPool2d(x, kernelSize: IntOrPair(1, kernelSize), stride: IntOrPair(1, stride ?? kernelSize),
                  padding: IntOrPair(0, padding), dilation: IntOrPair(1, dilation), ceilMode: ceilMode)
    }
}

/// 1-D average pooling (`torch.nn.functional.avg_pool1d`) of [N, C, L] or [C, L].
///
/// ```swift
/// let y = avgPool1d(Tensor.randn([4, 8, 100]), kernelSize: 4, stride: 2)
/// ```
public func avgPool1d(_ input: Tensor, kernelSize: Int, stride: Int? = nil, padding: Int = 0, ceilMode: Bool = false,
                      countIncludePad: Bool = true) -> Tensor {
    pooling1d("avgPool1d", input) { x in
        avgPool2d(x, kernelSize: IntOrPair(1, kernelSize), stride: IntOrPair(1, stride ?? kernelSize),
                  padding: IntOrPair(0, padding), ceilMode: ceilMode, countIncludePad: countIncludePad)
    }
}
