/**
 * Datasets, transforms and a loader, shaped after {@code torchvision.datasets},
 * {@code torchvision.transforms} and {@code torch.utils.data.DataLoader}
 * (https://pytorch.org/vision/stable/datasets.html, https://pytorch.org/vision/stable/transforms.html,
 * https://pytorch.org/docs/stable/data.html). Where a transform draws random parameters, it draws
 * them as torchvision's {@code get_params} does (same distributions, same order, Python's
 * round-half-to-even), so a recipe written for torchvision means the same thing here.
 *
 * <ul>
 *   <li>{@link org.resnet4j.data.Dataset} is the map-style dataset: {@code size()} and
 *       {@code get(i)} returning an {@link org.resnet4j.data.Example} whose image is float32 CHW in
 *       [0, 1] (what torchvision's {@code ToTensor} produces). Implementations:
 *       {@link org.resnet4j.data.IdxDataset} (MNIST / Fashion-MNIST),
 *       {@link org.resnet4j.data.CifarDataset} (CIFAR-10/100 binary version),
 *       {@link org.resnet4j.data.ImageFolder} and the generated
 *       {@link org.resnet4j.data.SyntheticShapes}.</li>
 *   <li>{@link org.resnet4j.data.Transform} maps one CHW tensor to another; every random choice
 *       comes from the {@link java.util.SplittableRandom} it is handed, never from a global
 *       generator, so augmentation is reproducible and independent of threading.
 *       {@link org.resnet4j.data.BatchTransform} does the same for whole batches (MixUp, CutMix).</li>
 *   <li>{@link org.resnet4j.data.DataLoader} shuffles, decodes and augments on its own worker
 *       threads ahead of the consumer, and stacks {@link org.resnet4j.data.Batch}es.</li>
 * </ul>
 */
package org.resnet4j.data;
