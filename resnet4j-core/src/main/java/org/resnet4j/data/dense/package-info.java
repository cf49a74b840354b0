/**
 * Data for detection and segmentation: an image with its boxes, labels, crowd flags and semantic
 * mask ({@link org.resnet4j.data.dense.DenseExample}), and the transforms of torchvision's
 * references that move them together ({@link org.resnet4j.data.dense.DenseTransforms}).
 */
package org.resnet4j.data.dense;
