package org.resnet4j.train;

/** The tasks by name, as a config's {@code task} field gives them. */
public final class Tasks {
    private Tasks() {}

    /** The task a config names; those not built yet are refused, naming the value. */
    public static Task of(String name) {
        return switch (name) {
            case "classification" -> new ClassificationTask();
            case "segmentation" -> new SegmentationTask();
            case "detection" -> throw new IllegalArgumentException("task 'detection': detection training is not built yet; "
                    + "use classification or segmentation");
            default -> throw new IllegalArgumentException("unknown task '" + name + "': use classification or segmentation");
        };
    }
}
