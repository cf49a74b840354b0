package org.resnet4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** The float vector shape every kernel uses: 512 bits where the CPU has them (AVX-512), else 256. */
final class Vectors {
    private Vectors() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED.length() >= 16 ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
    static final int L = S.length();  // lanes of S
}
