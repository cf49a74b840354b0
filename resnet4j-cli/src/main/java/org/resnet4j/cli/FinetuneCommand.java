package org.resnet4j.cli;

import picocli.CommandLine.Command;

/** `train` with a starting state_dict required: the transfer-learning entry point. */
@Command(name = "finetune", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Fine-tune from torchvision or resnet4j weights: `train` plus --weights (required), --freeze, --freeze-bn,",
                "--head-lr-scale, --unfreeze-at. The classifier is replaced when the class count differs, e.g.",
                "  resnet4j finetune --model resnet18 --weights resnet18.pth --data DIR --freeze conv1,bn1,layer1 --head-lr-scale 10"})
final class FinetuneCommand extends TrainCommand {
    @Override
    public Integer call() throws Exception {
        if (weights == null) throw new IllegalArgumentException("finetune needs --weights FILE (.pth or .safetensors); use `train` to start from scratch");
        return super.call();
    }
}
