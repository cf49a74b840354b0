package org.resnet4j.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "The main job (placeholder until training lands): says what it will do.")
final class DemoCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.out.println("""
                resnet4j demo — not yet available.

                When the training system lands, this command will train a small ResNet on a built-in,
                generated "synthetic shapes" data set in about two minutes on 2 cores, show progress,
                print the test accuracy, and write loss/accuracy curves and labelled predictions.
                It does not train anything yet.

                What works today:
                  ./resnet4j models                      every registered ResNet with parameters and GFLOPs
                  ./resnet4j info --model resnet50       layer table and totals
                  ./resnet4j forward --model resnet18 --weights W.safetensors --input X.safetensors --output Y.safetensors
                """);
        return 0;
    }
}
