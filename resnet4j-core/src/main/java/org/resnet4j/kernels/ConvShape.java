package org.resnet4j.kernels;

/**
 * The geometry of one 2-D convolution over an NCHW batch, validated once. Output size follows
 * PyTorch's Conv2d doc: out = floor((in + 2*pad - dilation*(k-1) - 1) / stride) + 1.
 */
public record ConvShape(int n, int cin, int h, int w, int cout, int kh, int kw,
                        int strideH, int strideW, int padH, int padW, int dilH, int dilW, int groups,
                        int oh, int ow) {

    public ConvShape {
        if (n < 1 || cin < 1 || h < 1 || w < 1 || cout < 1 || kh < 1 || kw < 1) {
            throw new IllegalArgumentException("conv: bad sizes n=" + n + " cin=" + cin + " h=" + h + " w=" + w
                    + " cout=" + cout + " kernel=" + kh + "x" + kw);
        }
        if (strideH < 1 || strideW < 1 || dilH < 1 || dilW < 1 || padH < 0 || padW < 0) {
            throw new IllegalArgumentException("conv: stride and dilation must be >= 1, padding >= 0");
        }
        if (groups < 1 || cin % groups != 0 || cout % groups != 0) {
            throw new IllegalArgumentException("conv: groups=" + groups + " must divide in_channels=" + cin
                    + " and out_channels=" + cout);
        }
        if (oh < 1 || ow < 1) {
            throw new IllegalArgumentException("conv: input " + h + "x" + w + " is too small for kernel " + kh + "x" + kw
                    + " (dilation " + dilH + "x" + dilW + ", padding " + padH + "x" + padW + ")");
        }
    }

    public static ConvShape of(int n, int cin, int h, int w, int cout, int kh, int kw,
                               int strideH, int strideW, int padH, int padW, int dilH, int dilW, int groups) {
        int oh = Math.floorDiv(h + 2 * padH - dilH * (kh - 1) - 1, strideH) + 1;
        int ow = Math.floorDiv(w + 2 * padW - dilW * (kw - 1) - 1, strideW) + 1;
        return new ConvShape(n, cin, h, w, cout, kh, kw, strideH, strideW, padH, padW, dilH, dilW, groups, oh, ow);
    }

    public int cinPerGroup() { return cin / groups; }
    public int coutPerGroup() { return cout / groups; }
    /** Rows of one group's im2col matrix: cin/groups * kh * kw. */
    public int colRows() { return cinPerGroup() * kh * kw; }
    public int outPixels() { return oh * ow; }
    public int weightSize() { return cout * colRows(); }

    /** A 1x1, stride-1, unpadded conv reads the input directly as its im2col matrix. */
    public boolean isPointwise() {
        return kh == 1 && kw == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0;
    }

    /** Multiply-accumulates of the forward pass. */
    public long macs() {
        return (long) n * cout * oh * ow * colRows();
    }

    /**
     * A 3x3 convolution with stride 1, padding 1, no dilation and one group: its output has its
     * input's size (the shapes the direct kernels compute).
     */
    /** A 3x3 convolution padded by one, undilated, ungrouped, with stride 1 or 2 both ways (ResNet's 3x3 layers). */
    public boolean padded3x3() {
        return kh == 3 && kw == 3 && strideH == strideW && (strideH == 1 || strideH == 2) && dilH == 1 && dilW == 1
                && groups == 1 && padH == 1 && padW == 1;
    }

    public boolean sameSize3x3() {
        return kh == 3 && kw == 3 && strideH == 1 && strideW == 1 && dilH == 1 && dilW == 1 && groups == 1 && padH == 1 && padW == 1;
    }
}
