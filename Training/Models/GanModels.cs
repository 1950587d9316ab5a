using GanEngine.Tensors;
using GanEngine.Training.Config;
using GanEngine.Training.Modules;

namespace GanEngine.Training.Models;

/// <summary>A generator: latent batch (N, latent) to images (N, channels, resolution, resolution) in [-1, 1].</summary>
public abstract class Generator : Module
{
    public abstract int Latent { get; }

    public abstract int Channels { get; }

    public abstract int Resolution { get; }

    public abstract Tensor Forward(Tensor z);
}

/// <summary>A discriminator: images (N, C, H, W) to one logit per image (N).</summary>
public abstract class Discriminator : Module
{
    public abstract Tensor Forward(Tensor images);
}

/// <summary>Builds the models a <see cref="ModelConfig"/> names.</summary>
public static class GanModels
{
    /// <summary>The generator of <paramref name="config"/>, initialised from <paramref name="init"/>'s stream.</summary>
    public static Generator CreateGenerator(ModelConfig config, InitContext init)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.Family switch
        {
            "dcgan" => new DcganGenerator(init, config.Latent, config.Channels, config.Resolution, config.GWidth),
            "sngan-resnet" => new ResNetGenerator(init, config.Latent, config.Channels, config.Resolution, config.GWidth),
            _ => throw new ArgumentException($"Unknown model family '{config.Family}' (dcgan | sngan-resnet)."),
        };
    }

    /// <summary>The discriminator of <paramref name="config"/>.</summary>
    public static Discriminator CreateDiscriminator(ModelConfig config, InitContext init)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.Family switch
        {
            "dcgan" => new DcganDiscriminator(init, config.Channels, config.Resolution, config.DWidth, config.DBatchNorm),
            "sngan-resnet" => new ResNetDiscriminator(init, config.Channels, config.Resolution, config.DWidth),
            _ => throw new ArgumentException($"Unknown model family '{config.Family}' (dcgan | sngan-resnet)."),
        };
    }
}
