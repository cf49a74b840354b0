package org.resnet4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.resnet4j.data.SyntheticShapes;
import org.resnet4j.tensor.Tensor;

/** Spark starts on this JDK with the module's flags and runs resnet4j code inside its tasks. */
class SparkSmokeTest {
    /** Sum of a rendered image's pixels, in double: the same function on the driver and in a task. */
    private static double pixelSum(int index) {
        Tensor image = new SyntheticShapes(8, 7).get(index).image();
        double s = 0;
        for (float v : image.data()) s += v;
        return s;
    }

    @Test
    void tasksRenderSyntheticImagesAsTheDriverDoes() {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            {
                JavaSparkContext sc = LocalSpark.shared();
                List<Integer> indices = IntStream.range(0, 8).boxed().toList();
                // each task reports (its partition, the image's label, the pixel sum)
                List<double[]> got = sc.parallelize(indices, 2)
                        .map(i -> new double[] {TaskContext.getPartitionId(), new SyntheticShapes(8, 7).label(i), pixelSum(i)})
                        .collect();
                assertEquals(8, got.size());
                SyntheticShapes local = new SyntheticShapes(8, 7);
                for (int i = 0; i < 8; i++) {
                    assertEquals(i < 4 ? 0 : 1, (int) got.get(i)[0], "parallelize slices contiguously: item " + i);
                    assertEquals(local.label(i), (int) got.get(i)[1], "label of " + i);
                    assertEquals(pixelSum(i), got.get(i)[2], "pixels of " + i);
                }
                assertTrue(got.stream().mapToDouble(r -> r[2]).distinct().count() > 1, "the images differ from one another");
            }
        });
    }
}
