package org.resnet4j.train;

/** The tasks by name, as a config's {@code task} field gives them. */
public final class Tasks {
    private Tasks() {}

    /** The task a config names; another name is refused, naming it. */
    public static Task of(String name) {
        return switch (name) {
            case "classification" -> new ClassificationTask();
            case "segmentation" -> new SegmentationTask();
            case "detection" -> new DetectionTask();
            default -> throw new IllegalArgumentException("unknown task '" + name + "': use classification, segmentation or detection");
        };
    }
}
