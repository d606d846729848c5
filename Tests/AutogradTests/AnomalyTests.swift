import Autograd
import Foundation
import Testing

/// Anomaly detection (withAnomalyDetection): the first NaN or infinity, in
/// the forward or the backward pass, is reported with the op, the shapes
/// and the line that applied the op.
@Suite("Anomaly detection")
struct AnomalyTests {
    /// Collects what the scope reports instead of stopping.
    final class Reports: @unchecked Sendable {
        var found: [Anomaly] = []
    }

    @Test func forwardNaNNamesTheOpTheShapesAndTheLine() throws {
        let reports = Reports()
        let x = Tensor([4.0, -1.0, 9.0])
        var opLine = 0
        withAnomalyDetection(onAnomaly: { reports.found.append($0) }) {
            let y = x * 2
            _ = log(y); opLine = #line
        }
        let anomaly = try #require(reports.found.first)
        #expect(reports.found.count == 1)
        #expect(anomaly.op == "log" && anomaly.pass == .forward)
        #expect(anomaly.inputShapes == [[3]] && anomaly.shape == [3])
        #expect(anomaly.index == 1 && anomaly.value.isNaN)
        #expect(anomaly.appliedAt?.hasSuffix("AnomalyTests.swift:\(opLine)") == true, "\(anomaly.appliedAt ?? "nil")")
        #expect(anomaly.scope.hasPrefix("AutogradTests/AnomalyTests.swift:"))
        #expect(anomaly.description.contains("log gave nan at index 1 of its output [3]"), "\(anomaly)")
    }

    /// sqrt is finite at 0, its gradient is not: the backward pass reports
    /// it, with the line where sqrt was applied (kept from the forward pass).
    @Test func backwardInfinityPointsAtTheForwardLine() throws {
        let reports = Reports()
        let x = Tensor([0.0, 1.0]).requiringGrad()
        var opLine = 0
        withAnomalyDetection(onAnomaly: { reports.found.append($0) }) {
            let r = sqrt(x); opLine = #line
            let loss = (r * 3).sum()
            loss.backward()
        }
        let anomaly = try #require(reports.found.first)
        #expect(reports.found.count == 1, "only the first anomaly of a scope is reported")
        #expect(anomaly.op == "sqrt" && anomaly.pass == .backward && anomaly.input == 0)
        #expect(anomaly.index == 0 && anomaly.value == .infinity)
        #expect(anomaly.appliedAt?.hasSuffix("AnomalyTests.swift:\(opLine)") == true, "\(anomaly.appliedAt ?? "nil")")
        #expect(x.grad!.scalars[0].isInfinite, "detection reports; it does not change the values")
    }

    /// By default the first anomaly stops the program with its description.
    @Test func theDefaultHandlerStops() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            withAnomalyDetection {
                _ = log(Tensor([2.0, -2.0]))
            }
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("anomaly: log gave nan at index 1 of its output [2]"), "\(message)")
    }

    /// Outside the scope nothing is checked, and finite work reports nothing.
    @Test func nothingOutsideTheScopeOrWhenFinite() {
        let reports = Reports()
        _ = log(Tensor([-1.0]))
        withAnomalyDetection(onAnomaly: { reports.found.append($0) }) {
            let x = Tensor([1.0, 2.0]).requiringGrad()
            (exp(x) * x).sum().backward()
        }
        #expect(reports.found.isEmpty)
    }

    /// Saving a checkpoint with NaN warns by default and is refused on request.
    @Test func nonFiniteCheckpointsWarnOrAreRefused() throws {
        let folder = TemporaryFolder()
        let model = Linear(2, 2)
        model.weight.assign(Tensor(shape: [2, 2], scalars: [1, .nan, 3, 4]))
        let path = folder.file("nan.safetensors")
        do {
            try Checkpoint.save(model, to: path, nonFinite: .refuse)
            Issue.record("a NaN weight was saved under .refuse")
        } catch {
            guard case .nonFinite(let name, let index, let value) = error else { throw error }
            #expect(name == "weight" && index == 1 && value.isNaN)
            #expect(error.description.contains("checkpoint tensor weight holds nan at index 1"))
        }
        #expect(!FileManager.default.fileExists(atPath: path), "refused: nothing written")
        try Checkpoint.save(model, to: path)  // warns on standard error
        #expect(FileManager.default.fileExists(atPath: path))
    }
}
