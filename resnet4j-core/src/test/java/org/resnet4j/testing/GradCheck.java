package org.resnet4j.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.Variable;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.Parameter;
import org.resnet4j.tensor.Tensor;

/**
 * Central finite-difference gradient check of a float32 computation.
 *
 * <p>The computation is a {@code Supplier<Variable>} that rebuilds the graph from the current
 * values of the variables under test. The scalar objective is L = sum_i r_i * y_i with a fixed
 * seeded random r, accumulated in double; its analytic gradient comes from one
 * {@code y.backward(r)} (the seed r is exactly dL/dy), the numeric one from
 * (L(v + h) - L(v - h)) / (actual step), re-running the same float32 forward. The actual step
 * is measured after rounding v +- h to float, so that rounding of the perturbation itself does
 * not bias the quotient.
 *
 * <p>Error metric per coordinate: |num - ana| / max(|num|, |ana|, floor), floor =
 * {@code floorFraction} x the RMS of the tensor's analytic gradient. The numeric gradient's error
 * is dominated by float32 rounding of L divided by the step, which is about the same for every
 * coordinate of a tensor; a coordinate whose true gradient is far below the tensor's typical
 * size therefore cannot be measured to relative precision, and the floor makes the check
 * absolute (tol x floor) for those coordinates only.
 *
 * <p>Kinks: the sign pattern of every ReLU input in the graph (found by walking the recorded
 * graph) is taken at v, v + h and v - h. A perturbation that flips a sign crosses a kink and the
 * difference across it is not a derivative: the coordinate is retried once with step h/4 (its
 * floor scaled by 4, as the rounding noise of the quotient), and skipped and counted if that
 * crosses a kink too. (One-sided differences on the smooth side were tried and rejected: in small
 * train-mode BN blocks the kinks are dense enough that L has large apparent curvature at the
 * scale of h.) By default at least half of each tensor's sampled coordinates and 80% of all of
 * them must be checked. Max-pool ties must be avoided by construction (the test's input).
 *
 * <p>Sampling: up to {@code samples} (default 60) coordinates per tensor, drawn without
 * replacement from a seeded generator; the analytic gradient of each checked tensor must not be
 * identically zero, so a check cannot pass vacuously.
 */
public final class GradCheck {
    private final String label;
    private final Supplier<Variable> forward;
    private final LinkedHashMap<String, Variable> wrt = new LinkedHashMap<>();
    private double h = 1e-2;
    private double targetChange = 0; // > 0: per-tensor step h = targetChange / rms(gradient)
    private final double hMin = 1e-4, hMax = 1e-2;
    private static final int RETRY = 4;
    private double tol = 1e-2;
    private double floorFraction = 0.1;
    private int samples = 60;
    private long seed = 12345;
    private double minCheckedFraction = 0.5, minCheckedOverall = 0.8;

    private GradCheck(String label, Supplier<Variable> forward) {
        this.label = label;
        this.forward = forward;
    }

    public static GradCheck of(String label, Supplier<Variable> forward) {
        return new GradCheck(label, forward);
    }

    /** Checks the gradient of this variable (a leaf that requires grad). */
    public GradCheck wrt(String name, Variable v) {
        if (!v.requiresGrad() || v.gradFn() != null) throw new IllegalArgumentException(name + " must be a leaf that requires grad");
        wrt.put(name, v);
        return this;
    }

    /** Checks every parameter of the module. */
    public GradCheck wrtParameters(Module m) {
        for (Map.Entry<String, Parameter> e : m.namedParameters().entrySet()) wrt(e.getKey(), e.getValue());
        return this;
    }

    public GradCheck h(double step) {
        this.h = step;
        return this;
    }

    /**
     * Per-tensor step chosen so that a typical coordinate moves L by about {@code c}:
     * h = c / rms(analytic gradient), clamped to [1e-4, 1e-2]. Both the relative rounding noise
     * of the quotient (noise(L) / (2 h |g|)) and the exposure to kinks (how many pre-activations
     * the step pushes across zero) scale with h |g|, so this keeps them the same for every
     * tensor of a block, from a large-gradient 1x1 conv weight to a small-gradient input.
     */
    public GradCheck targetChange(double c) {
        this.targetChange = c;
        return this;
    }

    public GradCheck tol(double t) {
        this.tol = t;
        return this;
    }

    public GradCheck floorFraction(double f) {
        this.floorFraction = f;
        return this;
    }

    public GradCheck samples(int n) {
        this.samples = n;
        return this;
    }

    public GradCheck seed(long s) {
        this.seed = s;
        return this;
    }

    /** Least fraction of each tensor's sampled coordinates, and of all of them, that must be checked (not skipped at a kink). */
    public GradCheck minChecked(double perTensor, double overall) {
        this.minCheckedFraction = perTensor;
        this.minCheckedOverall = overall;
        return this;
    }

    /** Per-tensor outcome. */
    public record TensorReport(String name, int size, double h, int checked, int retried, int skipped, double maxRelErr,
                               int worstIndex, double worstNum, double worstAna, double floor) {
        @Override
        public String toString() {
            return String.format("%s[%d]: h %.2g, checked %d (%d at h/4), skipped %d (kinks), max rel err %.3g at %d (num %.6g, ana %.6g, floor %.3g)",
                    name, size, h, checked, retried, skipped, maxRelErr, worstIndex, worstNum, worstAna, floor);
        }
    }

    public record Report(String label, List<TensorReport> tensors) {
        public TensorReport get(String name) {
            for (TensorReport t : tensors) if (t.name().equals(name)) return t;
            throw new IllegalArgumentException("no tensor " + name + " in " + tensors);
        }

        public int totalChecked() {
            return tensors.stream().mapToInt(TensorReport::checked).sum();
        }
    }

    /** Runs the check and fails (JUnit assertion) on any tensor out of tolerance. */
    public Report run() {
        if (wrt.isEmpty()) throw new IllegalStateException("nothing to check");
        Variable y = forward.get();
        assertTrue(y.requiresGrad() && y.gradFn() != null, label + ": output is not connected to the checked variables");
        Tensor r = Tensor.randn(seed, y.shape());
        BitSet pattern0 = kinkPattern(y);

        for (Variable v : wrt.values()) v.zeroGrad();
        y.backward(r.copy());
        Map<String, float[]> analytic = new LinkedHashMap<>();
        for (Map.Entry<String, Variable> e : wrt.entrySet()) {
            Tensor g = e.getValue().grad();
            if (g != null) assertTrue(g.sameShape(e.getValue().value()), label + ": gradient shape of " + e.getKey());
            analytic.put(e.getKey(), g == null ? new float[e.getValue().value().size()] : g.data().clone());
        }

        List<TensorReport> reports = new ArrayList<>();
        StringBuilder failures = new StringBuilder();
        SplittableRandom pick = new SplittableRandom(seed ^ 0x5DEECE66DL);
        for (Map.Entry<String, Variable> e : wrt.entrySet()) {
            String name = e.getKey();
            float[] d = e.getValue().value().data();
            float[] ana = analytic.get(name);
            double ss = 0, maxAna = 0;
            for (float a : ana) {
                ss += (double) a * a;
                maxAna = Math.max(maxAna, Math.abs(a));
            }
            if (maxAna == 0) {
                failures.append("\n  ").append(name).append(": analytic gradient is identically zero");
                continue;
            }
            double rms = Math.sqrt(ss / ana.length);
            double floor = floorFraction * rms;
            double step = targetChange > 0 ? Math.min(hMax, Math.max(hMin, targetChange / rms)) : h;
            int checked = 0, retried = 0, skipped = 0, worst = -1;
            double maxErr = 0, worstNum = 0, worstAna = 0;
            for (int i : sample(d.length, pick)) {
                Double num = central(d, i, step, r, pattern0);
                boolean retry = num == null;
                if (retry) {
                    // Straddles a kink: retry once with a quarter of the step (a quarter of the
                    // kink exposure), so that small tensors are not left unchecked. The rounding
                    // noise of the quotient is 4x larger there, and so is this coordinate's floor.
                    num = central(d, i, step / RETRY, r, pattern0);
                    if (num == null) {
                        skipped++;
                        continue;
                    }
                    retried++;
                }
                checked++;
                double fl = retry ? floor * RETRY : floor;
                double err = Math.abs(num - ana[i]) / Math.max(Math.max(Math.abs(num), Math.abs(ana[i])), fl);
                if (err > maxErr || worst < 0) {
                    maxErr = err;
                    worst = i;
                    worstNum = num;
                    worstAna = ana[i];
                }
            }
            TensorReport t = new TensorReport(name, d.length, step, checked, retried, skipped, maxErr, worst, worstNum, worstAna, floor);
            reports.add(t);
            if (maxErr > tol) failures.append("\n  ").append(t).append(" > tol ").append(tol);
            if (checked < minCheckedFraction * (checked + skipped) || checked == 0) {
                failures.append("\n  ").append(t).append(": too many coordinates straddle a kink");
            }
        }
        Report report = new Report(label, reports);
        int allChecked = report.totalChecked(), allSkipped = reports.stream().mapToInt(TensorReport::skipped).sum();
        if (allChecked < minCheckedOverall * (allChecked + allSkipped)) {
            failures.append("\n  only ").append(allChecked).append(" of ").append(allChecked + allSkipped)
                    .append(" sampled coordinates are away from kinks");
        }
        if (Boolean.getBoolean("gradcheck.verbose")) {
            System.out.println("[gradcheck] " + label);
            for (TensorReport t : reports) System.out.println("[gradcheck]   " + t);
        }
        if (!failures.isEmpty()) fail(label + " (tol=" + tol + "):" + failures);
        return report;
    }

    /** The central difference of L at coordinate i of d with step s, or null if the step crosses a kink. */
    private Double central(float[] d, int i, double s, Tensor r, BitSet pattern0) {
        float orig = d[i];
        try {
            d[i] = (float) (orig + s);
            double up = (double) d[i] - orig;
            Variable yp = forward.get();
            if (!kinkPattern(yp).equals(pattern0)) return null;
            double lp = objective(r, yp);
            d[i] = (float) (orig - s);
            double down = (double) orig - d[i];
            Variable ym = forward.get();
            if (!kinkPattern(ym).equals(pattern0)) return null;
            double lm = objective(r, ym);
            return (lp - lm) / (up + down);
        } finally {
            d[i] = orig;
        }
    }

    /** L = sum r_i y_i in double. */
    public static double objective(Tensor r, Variable y) {
        float[] a = r.data(), b = y.value().data();
        if (a.length != b.length) throw new IllegalStateException("output size changed between evaluations");
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (double) a[i] * b[i];
        return s;
    }

    private List<Integer> sample(int size, SplittableRandom rng) {
        List<Integer> idx = new ArrayList<>(size);
        for (int i = 0; i < size; i++) idx.add(i);
        if (size <= samples) return idx;
        for (int i = size - 1; i > 0; i--) Collections.swap(idx, i, rng.nextInt(i + 1));
        List<Integer> out = new ArrayList<>(idx.subList(0, samples));
        Collections.sort(out);
        return out;
    }

    /** Signs (> 0) of the inputs of every kink node reachable from y, in a fixed traversal order. */
    private BitSet kinkPattern(Variable y) {
        BitSet bits = new BitSet();
        if (y.gradFn() == null) return bits;
        int pos = 0;
        IdentityHashMap<Node, Boolean> seen = new IdentityHashMap<>();
        ArrayDeque<Node> stack = new ArrayDeque<>();
        stack.push(y.gradFn());
        seen.put(y.gradFn(), true);
        while (!stack.isEmpty()) {
            Node n = stack.pop();
            Tensor signs = n.reluSigns();
            if (signs != null) {
                float[] x = signs.data();
                for (int i = 0; i < x.length; i++, pos++) if (x[i] > 0f) bits.set(pos);
                bits.set(pos++); // a sentinel so that patterns of different lengths differ
            }
            for (Variable in : n.inputs()) {
                if (in != null && in.gradFn() != null && seen.put(in.gradFn(), true) == null) stack.push(in.gradFn());
            }
        }
        return bits;
    }
}
