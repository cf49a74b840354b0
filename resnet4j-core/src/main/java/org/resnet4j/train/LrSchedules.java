package org.resnet4j.train;

import java.util.ArrayList;
import java.util.List;

/** Parsing of command-line schedule specs, and the argument checks the schedules share. */
public final class LrSchedules {
    /** The grammar {@link #parse} accepts, for help texts and error messages. */
    public static final String SYNTAX = "constant | cosine[:ETA_MIN] | step:EPOCHS:GAMMA | multistep:E1,E2,...:GAMMA"
            + " | onecycle[:PCT_START] | poly[:POWER], optionally followed by +warmup:EPOCHS[:START_FACTOR]";

    private LrSchedules() {}

    /**
     * A schedule from a spec such as {@code "cosine"}, {@code "step:30:0.1"},
     * {@code "multistep:100,150:0.1"}, {@code "onecycle"} or {@code "cosine+warmup:5"}
     * ({@link #SYNTAX}). Epoch counts (which may be fractional) become iterations with
     * {@code itersPerEpoch}.
     *
     * <ul>
     *   <li>{@code constant}: {@code baseLr} throughout.
     *   <li>{@code cosine[:ETA_MIN]}: {@link CosineAnnealing} from {@code baseLr} to ETA_MIN (default 0)
     *       over the iterations after the warm-up.
     *   <li>{@code step:EPOCHS:GAMMA}, {@code multistep:E1,E2:GAMMA}: decay by GAMMA every EPOCHS / at
     *       the given epochs. Epochs count from the start of training, warm-up included, so
     *       {@code multistep:30,60,80:0.1+warmup:5} decays at epochs 30, 60 and 80 as in Goyal et al.
     *   <li>{@code onecycle[:PCT_START]}: {@link OneCycle} with {@code baseLr} as the peak and PyTorch's
     *       other defaults.
     *   <li>{@code poly[:POWER]}: {@link PolyLR}, {@code baseLr * (1 - t / T)^POWER} over the
     *       iterations after the warm-up (default power 0.9, torchvision's segmentation reference).
     *   <li>{@code +warmup:EPOCHS[:START_FACTOR]}: {@link Warmup} from {@code START_FACTOR * lr}
     *       (default {@value Warmup#DEFAULT_START_FACTOR}, LinearLR's default).
     * </ul>
     *
     * @throws IllegalArgumentException naming the spec and the part at fault
     */
    public static LrSchedule parse(String spec, double baseLr, long totalIters, long itersPerEpoch) {
        if (spec == null || spec.isBlank()) throw bad(spec, "empty spec");
        if (totalIters <= 0) throw new IllegalArgumentException("total iterations must be positive, got " + totalIters);
        if (itersPerEpoch <= 0) throw new IllegalArgumentException("iterations per epoch must be positive, got " + itersPerEpoch);
        LrChecks.checkLr("base lr", baseLr);
        String s = spec.trim().toLowerCase(java.util.Locale.ROOT);
        long warmup = 0;
        double startFactor = Warmup.DEFAULT_START_FACTOR;
        int plus = s.indexOf('+');
        if (plus >= 0) {
            String[] w = s.substring(plus + 1).split(":", -1);
            if (!w[0].equals("warmup") || w.length < 2 || w.length > 3) throw bad(spec, "expected +warmup:EPOCHS[:START_FACTOR] after '+'");
            warmup = iters(spec, w[1], itersPerEpoch);
            if (w.length == 3) startFactor = number(spec, w[2]);
            if (warmup >= totalIters) throw bad(spec, "warm-up of " + warmup + " iterations is not shorter than the run (" + totalIters + ")");
            s = s.substring(0, plus);
        }
        String[] parts = s.split(":", -1);
        long rest = totalIters - warmup;
        LrSchedule main = switch (parts[0]) {
            case "constant", "none" -> {
                arity(spec, parts, 1, 1);
                yield new LrSchedule.Constant(baseLr);
            }
            case "cosine" -> {
                arity(spec, parts, 1, 2);
                yield new CosineAnnealing(baseLr, rest, parts.length > 1 ? number(spec, parts[1]) : 0);
            }
            case "onecycle" -> {
                arity(spec, parts, 1, 2);
                double pct = parts.length > 1 ? number(spec, parts[1]) : OneCycle.DEFAULT_PCT_START;
                yield new OneCycle(baseLr, rest, pct, OneCycle.DEFAULT_DIV_FACTOR, OneCycle.DEFAULT_FINAL_DIV_FACTOR);
            }
            case "poly" -> {
                arity(spec, parts, 1, 2);
                yield new PolyLR(baseLr, rest, parts.length > 1 ? number(spec, parts[1]) : PolyLR.DEFAULT_POWER);
            }
            case "step" -> {
                arity(spec, parts, 3, 3);
                long size = iters(spec, parts[1], itersPerEpoch);
                if (size <= 0) throw bad(spec, "step size must be positive");
                double gamma = number(spec, parts[2]);
                if (warmup == 0) yield new StepLR(baseLr, size, gamma);
                // Keep the decays at absolute epochs: the inner schedule starts after the warm-up.
                List<Long> ms = new ArrayList<>();
                for (long m = size; m < totalIters; m += size) ms.add(m);
                yield new MultiStepLR(baseLr, shift(ms, warmup), gamma);
            }
            case "multistep" -> {
                arity(spec, parts, 3, 3);
                List<Long> ms = new ArrayList<>();
                for (String e : parts[1].split(",", -1)) ms.add(iters(spec, e, itersPerEpoch));
                yield new MultiStepLR(baseLr, shift(ms, warmup), number(spec, parts[2]));
            }
            default -> throw bad(spec, "unknown schedule '" + parts[0] + "'");
        };
        return warmup == 0 ? main : new Warmup(main, warmup, startFactor);
    }

    private static long[] shift(List<Long> milestones, long by) {
        long[] out = new long[milestones.size()];
        for (int i = 0; i < out.length; i++) out[i] = milestones.get(i) - by; // <= 0: already passed when warm-up ends
        return out;
    }

    private static void arity(String spec, String[] parts, int min, int max) {
        if (parts.length < min || parts.length > max) throw bad(spec, "'" + parts[0] + "' takes " + (min - 1)
                + (max > min ? " to " + (max - 1) : "") + " argument(s), got " + (parts.length - 1));
    }

    private static double number(String spec, String text) {
        try {
            double v = Double.parseDouble(text);
            if (!Double.isFinite(v)) throw bad(spec, "'" + text + "' is not a finite number");
            return v;
        } catch (NumberFormatException e) {
            throw bad(spec, "'" + text + "' is not a number");
        }
    }

    /** Epochs (possibly fractional) to iterations, rounded to the nearest. */
    private static long iters(String spec, String epochs, long itersPerEpoch) {
        double e = number(spec, epochs);
        if (e < 0) throw bad(spec, "negative epoch count " + epochs);
        return Math.round(e * itersPerEpoch);
    }

    private static IllegalArgumentException bad(String spec, String why) {
        return new IllegalArgumentException("bad lr schedule '" + spec + "': " + why + " (expected " + SYNTAX + ")");
    }
}
