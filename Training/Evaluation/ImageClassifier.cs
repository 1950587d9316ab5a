using GanEngine.Nn;
using GanEngine.Tensors;
using GanEngine.Training.Modules;

namespace GanEngine.Training.Evaluation;

/// <summary>
/// The small CNN the engine trains on a labeled data set to judge generated images: two 3x3 conv + ReLU +
/// 2x2 average-pool stages, a hidden linear layer (its ReLU output is the feature vector for FID and KID),
/// and a linear classifier (its softmax gives class shares, confidence and the Inception Score).
/// </summary>
public sealed class ImageClassifier : Module
{
    public ImageClassifier(InitContext init, int channels, int resolution, int classes, int width = 32, int features = 128)
    {
        ArgumentNullException.ThrowIfNull(init);
        if (resolution % 4 != 0)
        {
            throw new ArgumentException($"The classifier needs a resolution divisible by 4 (got {resolution}).");
        }
        Channels = channels;
        Resolution = resolution;
        Classes = classes;
        FeatureCount = features;
        Conv1 = new Conv2dLayer(init, channels, width, 3, 1, 1, bias: true);
        Conv2 = new Conv2dLayer(init, width, 2 * width, 3, 1, 1, bias: true);
        int side = resolution / 4;
        Hidden = new LinearLayer(init, 2 * width * side * side, features);
        Output = new LinearLayer(init, features, classes);
    }

    public int Channels { get; }
    public int Resolution { get; }
    public int Classes { get; }

    /// <summary>Length of the feature vector (the hidden layer's width).</summary>
    public int FeatureCount { get; }

    public Conv2dLayer Conv1 { get; }
    public Conv2dLayer Conv2 { get; }
    public LinearLayer Hidden { get; }
    public LinearLayer Output { get; }

    protected override IEnumerable<(string Name, Module Child)> Children =>
        [("conv1", Conv1), ("conv2", Conv2), ("hidden", Hidden), ("output", Output)];

    /// <summary>Features (N, FeatureCount) and logits (N, Classes) of images (N, C, R, R) in [-1, 1].</summary>
    public (Tensor Features, Tensor Logits) Forward(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        using var c1 = Conv1.Forward(images);
        using var r1 = c1.Relu();
        using var p1 = Functional.AvgPool2d(r1, 2);
        using var c2 = Conv2.Forward(p1);
        using var r2 = c2.Relu();
        using var p2 = Functional.AvgPool2d(r2, 2);
        using var flat = p2.Reshape(images.Size(0), -1);
        using var h = Hidden.Forward(flat);
        var features = h.Relu();
        var logits = Output.Forward(features);
        return (features, logits);
    }
}
