using System.Globalization;
using GanEngine.Accelerators;
using GanEngine.Datasets;
using GanEngine.Nn;
using GanEngine.Ops.Optim;
using GanEngine.Tensors;
using GanEngine.Training.IO;
using GanEngine.Training.Modules;

namespace GanEngine.Training.Evaluation;

/// <summary>A trained classifier and how well it does on the held-out split.</summary>
public sealed record TrainedClassifier(ImageClassifier Model, double TestAccuracy, int TrainImages, int TestImages, string Description);

/// <summary>
/// Trains the <see cref="ImageClassifier"/> on a labeled data set's train split with the engine itself
/// (Adam 1e-3, batch 64, cross-entropy), measures it on the test split, and caches the weights (keyed by
/// data set, resolution, channels, epochs and seed) in <c>$GANENGINE_CACHE</c> or <c>~/.cache/ganengine</c>,
/// so that every evaluation of runs on that data set uses the same feature network.
/// </summary>
public static class ClassifierTraining
{
    public const int BatchSize = 64;

    /// <summary>The cached classifier, or a freshly trained one.</summary>
    public static TrainedClassifier GetOrTrain(Accelerator accelerator, string kind, string? path, int resolution, int channels,
        int epochs, ulong seed, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        ArgumentNullException.ThrowIfNull(log);
        var train = DatasetFactory.Open(new DatasetSpec(kind, path, DatasetSplit.Train, resolution, channels));
        var test = DatasetFactory.Open(new DatasetSpec(kind, path, DatasetSplit.Test, resolution, channels));
        if (train.ClassCount < 2)
        {
            throw new InvalidOperationException($"{train.Name} has no class labels: the built-in feature network is a classifier trained on labeled data.");
        }
        string key = string.Create(CultureInfo.InvariantCulture, $"{kind}-{Hash(path)}-r{resolution}-c{channels}-e{epochs}-s{seed}");
        string cacheFile = Path.Combine(CacheDirectory(), "classifiers", key + ".ckpt");
        var model = new ImageClassifier(new InitContext(accelerator, seed), channels, resolution, train.ClassCount);
        string description = $"CNN classifier (conv3x3 32, pool, conv3x3 64, pool, linear {model.FeatureCount}, linear {train.ClassCount}) trained on {train.Name}, {epochs} epochs, seed {seed}";
        if (File.Exists(cacheFile))
        {
            try
            {
                var stored = CheckpointFile.Read(cacheFile);
                foreach (var (name, t) in model.State())
                {
                    t.Stream.CopyToDevice<float>(stored.Tensors[name].Data, t.DenseView);
                }
                double cachedAccuracy = double.Parse(stored.Metadata["test_accuracy"], CultureInfo.InvariantCulture);
                log.WriteLine($"classifier: {cacheFile} (test accuracy {cachedAccuracy:P2})");
                return new TrainedClassifier(model, cachedAccuracy, train.Count, test.Count, description);
            }
            catch (Exception e) when (e is CheckpointException or KeyNotFoundException)
            {
                log.WriteLine($"classifier cache {cacheFile} is unusable ({e.Message}); training again");
            }
        }
        Train(model, train, epochs, seed, log);
        double accuracy = Accuracy(model, test);
        log.WriteLine($"classifier: test accuracy {accuracy:P2} on {test.Name} ({test.Count} images)");
        var checkpoint = new Checkpoint();
        checkpoint.Metadata["kind"] = "ganengine-classifier";
        checkpoint.Metadata["test_accuracy"] = accuracy.ToString("R", CultureInfo.InvariantCulture);
        checkpoint.Metadata["description"] = description;
        foreach (var (name, t) in model.State())
        {
            checkpoint.Tensors[name] = new CheckpointTensor(t.ShapeArray(), t.ToHost());
        }
        Directory.CreateDirectory(Path.GetDirectoryName(cacheFile)!);
        CheckpointFile.Write(cacheFile, checkpoint);
        return new TrainedClassifier(model, accuracy, train.Count, test.Count, description);
    }

    /// <summary>Trains <paramref name="model"/> for <paramref name="epochs"/> passes over <paramref name="data"/>.</summary>
    public static void Train(ImageClassifier model, IImageDataset data, int epochs, ulong seed, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(log);
        var accelerator = model.Conv1.Weight.Accelerator;
        using var adam = new Adam(model.Parameters(), new AdamHyperparameters(Lr: 1e-3f));
        using var loader = new BatchLoader(data, BatchSize, seed);
        long steps = epochs * loader.BatchesPerEpoch;
        Tensor? lastLoss = null;
        for (long step = 1; step <= steps; step++)
        {
            using var scope = new TensorScope(accelerator);
            var batch = loader.Next();
            var images = Tensor.FromHost(accelerator, batch.Images[..(BatchSize * data.Channels * data.Height * data.Width)], BatchSize, data.Channels, data.Height, data.Width);
            var labels = Tensor.FromHost(accelerator, [.. batch.Labels.Take(BatchSize).Select(l => (float)l)], BatchSize);
            loader.Return(batch);
            var (_, logits) = model.Forward(images);
            var loss = Functional.CrossEntropy(logits, labels);
            adam.ZeroGrad();
            loss.Backward();
            adam.Step();
            if (step % loader.BatchesPerEpoch == 0)
            {
                lastLoss?.Dispose();
                lastLoss = scope.Keep(loss);
                log.WriteLine($"classifier: epoch {step / loader.BatchesPerEpoch}/{epochs}, loss {lastLoss.Item():F4}");
            }
        }
        lastLoss?.Dispose();
    }

    /// <summary>Share of <paramref name="data"/> the model classifies correctly.</summary>
    public static double Accuracy(ImageClassifier model, IImageDataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var (_, probabilities) = FeatureExtraction.Run(model, FeatureExtraction.Images(data), data.Count);
        int correct = 0;
        for (int i = 0; i < data.Count; i++)
        {
            correct += FeatureExtraction.ArgMax(probabilities.AsSpan(i * model.Classes, model.Classes)) == data.Label(i) ? 1 : 0;
        }
        return correct / (double)data.Count;
    }

    /// <summary>Where cached classifiers live.</summary>
    public static string CacheDirectory() =>
        Environment.GetEnvironmentVariable("GANENGINE_CACHE") is { Length: > 0 } dir
            ? dir
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "ganengine");

    private static string Hash(string? path)
    {
        if (path is null)
        {
            return "builtin";
        }
        var bytes = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Path.GetFullPath(path)));
        return Convert.ToHexString(bytes, 0, 4).ToLowerInvariant();
    }
}

/// <summary>Runs images through a classifier in batches: features and class probabilities on the host.</summary>
public static class FeatureExtraction
{
    public const int Batch = 250;

    /// <summary>The images of <paramref name="data"/> as a batch source.</summary>
    public static Func<int, int, float[]> Images(IImageDataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        int size = data.Channels * data.Height * data.Width;
        return (start, count) =>
        {
            var buffer = new float[count * size];
            for (int i = 0; i < count; i++)
            {
                data.ReadImage(start + i, buffer.AsSpan(i * size, size));
            }
            return buffer;
        };
    }

    /// <summary>Features (n x FeatureCount) and softmax probabilities (n x Classes) of <paramref name="count"/> images.</summary>
    public static (float[] Features, float[] Probabilities) Run(ImageClassifier model, Func<int, int, float[]> images, int count)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(images);
        var accelerator = model.Conv1.Weight.Accelerator;
        var features = new float[(long)count * model.FeatureCount];
        var probabilities = new float[(long)count * model.Classes];
        using var noGrad = Autograd.NoGrad();
        for (int start = 0; start < count; start += Batch)
        {
            int n = Math.Min(Batch, count - start);
            using var scope = new TensorScope(accelerator);
            var x = Tensor.FromHost(accelerator, images(start, n), n, model.Channels, model.Resolution, model.Resolution);
            var (f, logits) = model.Forward(x);
            var p = Functional.Softmax(logits);
            f.ToHost().CopyTo(features, (long)start * model.FeatureCount);
            p.ToHost().CopyTo(probabilities, (long)start * model.Classes);
        }
        return (features, probabilities);
    }

    /// <summary>Index of the largest value.</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }
        return best;
    }
}
