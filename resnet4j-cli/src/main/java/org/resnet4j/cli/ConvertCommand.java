package org.resnet4j.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.resnet4j.io.pth.Pth;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Convert a PyTorch state_dict (.pth, zip or legacy format, read without executing any pickle code) to safetensors.")
final class ConvertCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IN.pth") Path in;
    @Parameters(index = "1", paramLabel = "OUT.safetensors") Path out;

    @Override
    public Integer call() throws Exception {
        LinkedHashMap<String, Tensor> state = Pth.read(in);
        long values = 0;
        for (Tensor t : state.values()) values += t.size();
        SafeTensors.write(out, state, Map.of("source", in.getFileName().toString()));
        System.out.printf("%s: %d tensors, %,d values -> %s%n", in, state.size(), values, out);
        return 0;
    }
}
