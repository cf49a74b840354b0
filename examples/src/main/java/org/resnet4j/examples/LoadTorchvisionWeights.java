package org.resnet4j.examples;

import java.nio.file.Path;
import java.util.Map;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.train.Transfer;

/**
 * torchvision weights into a resnet4j model: the state_dict names and shapes are torchvision's,
 * so a file from {@code torch.save(torchvision.models.resnet18(weights="DEFAULT").state_dict(), "r18.pth")}
 * loads strictly. Give that file as the argument; without one, a stand-in with the same keys is
 * written first (no downloads here).
 */
public class LoadTorchvisionWeights {
    public static void main(String[] args) throws Exception {
        Path weights = args.length > 0 ? Path.of(args[0]) : standIn(Path.of("resnet18.safetensors"));

        Map<String, Tensor> stateDict = Transfer.readStateDict(weights); // .pth (restricted unpickler) or .safetensors
        Module model = Models.create("resnet18");
        model.loadStateDict(stateDict, true); // strict: every key present, every shape equal
        model.eval();
        System.out.printf("loaded %d tensors from %s into resnet18%n", stateDict.size(), weights);

        // A mismatch is refused before anything is overwritten, naming the keys at fault.
        try {
            Models.create("resnet34").loadStateDict(stateDict, true);
            throw new AssertionError("resnet18 weights must not load into resnet34");
        } catch (IllegalArgumentException e) {
            System.out.println("resnet34 refuses them: " + String.join(" ", e.getMessage().lines().limit(3).map(String::strip).toList()));
        }
    }

    /** A state_dict with torchvision's resnet18 keys and shapes (random values). */
    static Path standIn(Path file) throws Exception {
        SafeTensors.write(file, Models.create("resnet18").stateDict(), null);
        return file;
    }
}
