package org.resnet4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The resnet4j command line: thin commands that parse, call the library and print. */
@Command(name = "resnet4j", mixinStandardHelpOptions = true, version = "resnet4j 0.1.0",
        description = "Deep residual networks for the JVM.",
        subcommands = {ModelsCommand.class, InfoCommand.class, InitCommand.class, ConvertCommand.class, ForwardCommand.class, TrainCommand.class, FinetuneCommand.class, EvalCommand.class, PredictCommand.class, SegmentCommand.class, DetectCommand.class, EmbedCommand.class, BenchCommand.class, GradflowCommand.class, ExperimentCommand.class, ExportCommand.class, ServeCommand.class, DemoCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line (also used by the tests). */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        // Library errors carry the file, key or shape at fault: print the message, not a stack trace.
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            if (ex instanceof org.resnet4j.train.Trainer.DivergedException) {
                cmd.getErr().println("error: " + ex.getMessage());
                return 3;
            }
            if (ex instanceof IllegalArgumentException || ex instanceof IllegalStateException || ex instanceof java.io.IOException
                    || ex instanceof java.io.UncheckedIOException) {
                cmd.getErr().println("error: " + ex.getMessage());
                return 2;
            }
            throw ex;
        });
        return cl;
    }
}
