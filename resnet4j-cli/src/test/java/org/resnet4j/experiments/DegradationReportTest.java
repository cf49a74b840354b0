package org.resnet4j.experiments;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DegradationReportTest {
    static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    @TempDir
    Path dir;

    private void write(String rel, String text) throws Exception {
        Path p = dir.resolve(rel);
        Files.createDirectories(p.getParent());
        Files.writeString(p, text);
    }

    private static String grads(double... norms) {
        StringBuilder sb = new StringBuilder(String.join(",", GradientProbe.Result.CSV_COLUMNS)).append('\n');
        for (int i = 0; i < norms.length; i++) {
            sb.append(i).append(",layer").append(i).append(",Conv2d,16x16x3x3,2304,1.5,").append(norms[i]).append(",0.01,0.001,0.1\n");
        }
        return sb.toString();
    }

    @Test
    void writesFiguresAndASelfContainedHtml() throws Exception {
        Path runs = dir.resolve("runs");
        String header = "epoch,train_loss,train_err,test_err\n";
        write("runs/plain20/metrics.csv", header + "1,1.2,0.40,0.42\n2,0.8,0.25,0.30\n3,0.5,0.125,0.20\n");
        write("runs/plain56/metrics.csv", header + "1,1.5,0.50,0.52\n2,1.0,0.35,0.38\n3,0.8,0.30,0.33\n");
        write("runs/resnet20/metrics.csv", header + "1,1.1,0.38,0.40\n2,0.7,0.22,0.27\n3,0.4,0.10,0.18\n");
        write("runs/resnet56/metrics.csv", header + "1,1.0,0.36,0.39\n2,0.6,0.18,0.25\n3,0.3,0.05,0.16\n");
        write("runs/resnet56/iterations.csv", "epoch,train_err\n0.5,0.45\n1,0.36\n1.5,0.25\n2,0.18\n2.5,0.09\n3,0.05\n");
        // resnet4j train's own columns, and iterations given by number
        write("runs/plain56-nobn/metrics.csv", "epoch,iteration,lr,train_loss,train_acc,test_loss,test_top1\n"
                + "1,10,0.1,2.0,0.2,2.1,0.19\n2,20,0.1,1.9,0.25,2.0,0.24\n");
        write("runs/plain56-nobn/iterations.csv", "iteration,train_err\n5,0.85\n10,0.8\n15,0.78\n20,0.75\n");
        write("runs/plain20/gradflow.csv", grads(0.5, 0.4, 0.3, 0.2));
        write("runs/resnet20/gradflow.csv", grads(0.5, 0.5, 0.45, 0.5));
        write("runs/resnet20/gradflow-epoch3.csv", grads(0.05, 0.04, 0.0, 0.06));
        write("runs/gradflow-plain56-nobn/gradflow.csv", grads(1e-6, 1e-4, 1e-2, 1.0));
        write("runs/notes/readme.txt", "not a run");

        Path out = dir.resolve("report");
        DegradationReport.Output o = DegradationReport.write(runs, out);

        for (Path png : new Path[] {o.errorsPng(), o.gradnormsPng()}) {
            assertArrayEquals(PNG_MAGIC, Arrays.copyOf(Files.readAllBytes(png), 8), png.toString());
        }
        assertEquals(out.resolve("errors.png"), o.errorsPng());
        assertEquals(out.resolve("gradnorms.png"), o.gradnormsPng());

        assertEquals(5, o.finals().size());
        DegradationReport.FinalRow first = o.finals().get(0);
        assertEquals("plain20", first.run().name());
        assertEquals(3, first.epochs());
        assertEquals(0.125, first.trainErr(), 1e-12);
        assertEquals(0.20, first.testErr(), 1e-12);
        DegradationReport.FinalRow nobn = o.finals().get(4);
        assertEquals("plain56-nobn", nobn.run().name());
        assertEquals(false, nobn.run().batchNorm());
        assertEquals(0.75, nobn.trainErr(), 1e-9);
        assertEquals(0.76, nobn.testErr(), 1e-9);
        assertEquals(4, o.gradients().size());

        String html = Files.readString(o.html());
        assertTrue(html.startsWith("<!DOCTYPE html>"));
        Matcher m = Pattern.compile("<img src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\"").matcher(html);
        int images = 0;
        while (m.find()) {
            assertArrayEquals(PNG_MAGIC, Arrays.copyOf(Base64.getDecoder().decode(m.group(1)), 8));
            images++;
        }
        assertEquals(2, images);
        assertTrue(html.contains("<tr><td class=\"l\">plain20</td><td class=\"l\">plain-20</td><td>yes</td><td>3</td>"
                + "<td>0.5000</td><td>12.50%</td><td>20.00%</td><td>20.00%</td>"), html);
        assertTrue(html.contains("<td class=\"l\">resnet56</td><td class=\"l\">ResNet-56</td><td>yes</td><td>3</td>"
                + "<td>0.3000</td><td>5.00%</td><td>16.00%</td><td>16.00%</td>"), html);
        assertTrue(html.contains("<td class=\"l\">plain56-nobn</td><td class=\"l\">plain-56</td><td>no</td><td>2</td>"), html);
        assertTrue(html.contains("href=\"../runs/plain20/metrics.csv\""), html);
        assertTrue(html.contains("href=\"../runs/resnet56/iterations.csv\""), html);
        assertTrue(html.contains("href=\"../runs/resnet20/gradflow-epoch3.csv\""), html);
        assertTrue(html.contains("<td class=\"l\">epoch3</td>"), html);
        assertTrue(html.contains("1.000e-06"), "first-layer gradient of the no-BN plain net");
    }

    @Test
    void runNamesGiveFamilyDepthAndBatchNorm() {
        var r = DegradationReport.RunInfo.parse("gradflow-plain56-nobn");
        assertEquals("plain", r.family());
        assertEquals(56, r.depth());
        assertEquals(false, r.batchNorm());
        assertEquals("plain-56 (no BN)", r.label());
        assertEquals("ResNet-110", DegradationReport.RunInfo.parse("resnet110-cifar10").label());
        assertEquals("", DegradationReport.RunInfo.parse("demo").family());
    }

    @Test
    void emptyDirectoryIsAClearError() throws Exception {
        Files.createDirectories(dir.resolve("empty/x"));
        var e = assertThrows(IllegalArgumentException.class, () -> DegradationReport.write(dir.resolve("empty"), dir.resolve("out")));
        assertTrue(e.getMessage().contains("no run directories"), e.getMessage());
    }
}
