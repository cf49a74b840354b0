/**
 * torchvision.ops' detection operations: box IoU, non-maximum suppression (plain and per class),
 * box clipping and filtering, and the two losses FCOS trains with, generalized IoU and sigmoid
 * focal loss, as autograd ops. Boxes are [N, 4] float tensors in (x1, y1, x2, y2) corners.
 */
package org.resnet4j.detection.ops;
