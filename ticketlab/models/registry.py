"""The model registry: every architecture ticketlab can build, by name.

A builder takes ``(input_shape, num_classes, width)``: the input as ``(C, H, W)``, the
number of classes, and the multiplier of every hidden width. Every model works for any
input shape its pools allow and lists its Conv2d/Linear layers in data-flow order in
``named_modules()``, the first reading the input and the last being the classifier.
A new model is one builder in its family's module plus one line here.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from ticketlab.models import cnn3, convnets, lenet, mlp, mobilenetv2, resnet, vgg
from ticketlab.registry import Registry

ModelBuilder = Callable[[tuple[int, int, int], int, float], nn.Module]

MODELS: Registry[ModelBuilder] = Registry("model")

MODELS.add("lenet300", mlp.lenet300, "LeNet-300-100: fully connected 300-100, ReLU")
MODELS.add("lenet5", lenet.lenet5, "LeNet5 with ReLU: conv 6, conv 16 (5x5, pad 2), dense 120-84")
MODELS.add("lenet5-bn", lenet.lenet5_bn, "LeNet5 with BatchNorm after each hidden conv and dense layer")
MODELS.add("cnn3", cnn3.cnn3, "Burkholz's 3-layer CNN: conv 3x3 32, conv 3x3 32 (unpadded), linear")
MODELS.add("conv2", convnets.conv2, "edge-popup Conv-2: 3x3 convs 64,64, dense 256-256, no bias")
MODELS.add("conv4", convnets.conv4, "edge-popup Conv-4: 3x3 convs 64,64,128,128, dense 256-256")
MODELS.add("conv6", convnets.conv6, "edge-popup Conv-6: 3x3 convs 64..256 (6), dense 256-256")
MODELS.add("conv8", convnets.conv8, "edge-popup Conv-8: 3x3 convs 64..512 (8), dense 256-256")
MODELS.add("vgg11", vgg.vgg11, "CIFAR VGG-11 with BatchNorm, global avg pool, linear")
MODELS.add("vgg16", vgg.vgg16, "CIFAR VGG-16 with BatchNorm, global avg pool, linear")
MODELS.add("vgg19", vgg.vgg19, "CIFAR VGG-19 with BatchNorm, global avg pool, linear")
MODELS.add("resnet20", resnet.resnet20, "CIFAR ResNet-20 (16/32/64) with 1x1 conv shortcuts")
MODELS.add("resnet18", resnet.resnet18, "CIFAR ResNet-18 (64..512), stride-1 stem, no max-pool")
MODELS.add("mobilenetv2", mobilenetv2.mobilenetv2, "CIFAR MobileNetV2 (stride-1 stem)")
