package org.resnet4j.examples;

import java.nio.file.Path;
import java.util.List;
import org.resnet4j.train.TrainConfig;
import org.resnet4j.train.Trainer;

/**
 * Fine-tuning ImageNet weights on an ImageFolder (root/train/CLASS/*.png, root/val/CLASS/*.png):
 * the 1000-class head is replaced by one for the folder's classes, the stem and layer1 stay frozen,
 * and the run writes metrics, checkpoints (last and best) and its config under runs/NAME.
 */
public class FineTuneImageFolder {
    public static void main(String[] args) throws Exception {
        Path data = ExampleData.imageFolder(Path.of("shapes-folder"), 96, 48, 64);
        Path weights = args.length > 0 ? Path.of(args[0]) : LoadTorchvisionWeights.standIn(Path.of("resnet18.safetensors"));

        TrainConfig c = new TrainConfig();
        c.model = "resnet18";
        c.data = data.toString();          // a directory: ImageFolder with train/ and val/
        c.imageSize = 64;                  // training crop (224 for real photos)
        c.weights = weights.toString();    // .pth from torch.save, or .safetensors
        c.freeze = List.of("conv1", "bn1", "layer1");
        c.epochs = 2;
        c.batchSize = 16;
        c.lr = 0.01;
        c.name = "finetune";
        Trainer.Result r = new Trainer(c, System.out).fit();

        System.out.printf("val top-1 %.1f%% after %d epochs; checkpoint %s%n", 100 * r.test().top1(), r.epochs(),
                r.runDir().resolve("checkpoints/best.safetensors"));
    }
}
