package org.resnet4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.resnet4j.data.Dataset;
import org.resnet4j.data.SyntheticShapes;

class DataSourcesTest {
    private final Dataset shapes = new SyntheticShapes(300, 7);

    @Test
    void classSubsetKeepsExactlyTheNamedClassesRelabelledInTheOrderGiven() throws Exception {
        // "star" by name, 1 (square) by index: star becomes 0, square 1
        Dataset d = DataSources.classSubset(shapes, List.of("star", "1"));
        assertEquals(List.of("star", "square"), d.classes());
        int expected = 0;
        for (int i = 0; i < shapes.size(); i++) {
            int l = shapes.label(i);
            if (l == 5 || l == 1) expected++;
        }
        assertEquals(expected, d.size());
        assertTrue(expected > 50, "the generator should give both classes");
        int j = 0;
        for (int i = 0; i < shapes.size(); i++) {
            int l = shapes.label(i);
            if (l != 5 && l != 1) continue;
            var e = d.get(j);
            assertEquals(l == 5 ? 0 : 1, e.label(), "example " + j);
            assertEquals(e.label(), d.label(j));
            assertArrayEquals(shapes.get(i).image().data(), e.image().data(), "example " + j + " is source example " + i);
            j++;
        }
    }

    @Test
    void classSubsetNamesTheClassItDoesNotKnowOrSeesTwice() {
        var e = assertThrows(IllegalArgumentException.class, () -> DataSources.classSubset(shapes, List.of("hexagon")));
        assertTrue(e.getMessage().contains("'hexagon'") && e.getMessage().contains("circle"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DataSources.classSubset(shapes, List.of("9")));
        assertTrue(e.getMessage().contains("'9'") && e.getMessage().contains("0..5"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DataSources.classSubset(shapes, List.of("circle", "0")));
        assertTrue(e.getMessage().contains("'circle' (index 0) is listed twice"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DataSources.classSubset(shapes, List.of("99999999999")));
        assertTrue(e.getMessage().contains("'99999999999'"), e.getMessage());
    }

    @Test
    void subsetIsSeededDistinctAndInIndexOrder() throws Exception {
        Dataset a = DataSources.subset(shapes, 40, 3), b = DataSources.subset(shapes, 40, 3), c = DataSources.subset(shapes, 40, 4);
        assertEquals(40, a.size());
        Set<Integer> classesSeen = new HashSet<>();
        boolean differs = false;
        for (int i = 0; i < 40; i++) {
            assertArrayEquals(a.get(i).image().data(), b.get(i).image().data(), "same seed, same pick");
            differs |= !java.util.Arrays.equals(a.get(i).image().data(), c.get(i).image().data());
            classesSeen.add(a.label(i));
        }
        assertTrue(differs, "another seed picks other examples");
        assertTrue(classesSeen.size() >= 4, "a random pick spans the classes: " + classesSeen);
        assertEquals(shapes, DataSources.subset(shapes, 0, 3));
        assertEquals(shapes, DataSources.subset(shapes, shapes.size(), 3));
    }
}
