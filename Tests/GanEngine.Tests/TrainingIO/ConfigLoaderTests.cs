using System.Reflection;
using GanEngine.Training.Config;
using NUnit.Framework;

namespace GanEngine.Tests.TrainingIO;

public sealed class ConfigLoaderTests
{
    private const string Source = "runs/exp1.yaml";

    private static ConfigException ParseError(string yaml) =>
        Assert.Throws<ConfigException>(() => ConfigLoader.Parse(yaml, Source))!;

    [Test]
    public void EveryPresetValidates()
    {
        Assert.That(ConfigLoader.PresetNames, Is.EqualTo(new[] { "digits", "dcgan32", "sngan32", "digits-spgan", "spgan32" }));
        foreach (string name in ConfigLoader.PresetNames)
        {
            TrainConfig c = ConfigLoader.Preset(name);
            Assert.That(c.Preset, Is.EqualTo(name));
            Assert.DoesNotThrow(() => ConfigLoader.Validate(c), name);
        }
    }

    [Test]
    public void Spgan32IsSpGansScheduleWithNet2WiderAndDiffAugment()
    {
        TrainConfig c = ConfigLoader.Preset("spgan32");
        ConfigLoader.Validate(c);
        var a = c.Architecture;
        Assert.That((a.SeedFactor, a.GrowTimes, a.GrowFactor, a.GrowEvery, a.PruneAt, a.PruneRatio, a.GrowRule),
            Is.EqualTo((0.125f, 3, 2f, 2000, 10000, 0.1f, "net2wider")), "seed 1/8, three doublings at 10/20/30%, 10% pruning at half way");
        Assert.That(c.Augment.Policy, Is.EqualTo("color,translation,cutout"));
        Assert.That(c.Loss.Kind, Is.EqualTo("adaptive"));
        Assert.That(ConfigLoader.Preset("dcgan32").Augment.Policy, Is.EqualTo("none"), "the peer's DCGAN-32 stays unaugmented");
    }

    [Test]
    public void PresetValues()
    {
        TrainConfig digits = ConfigLoader.Preset("digits");
        Assert.Multiple(() =>
        {
            Assert.That(digits.Data.Dataset, Is.EqualTo("digits"));
            Assert.That(digits.Model.Resolution, Is.EqualTo(16));
            Assert.That(digits.Model.Channels, Is.EqualTo(1));
            Assert.That(digits.Model.Family, Is.EqualTo("dcgan"));
            Assert.That(digits.Model.Latent, Is.EqualTo(32));
            Assert.That(digits.Model.GWidth, Is.EqualTo(32));
            Assert.That(digits.Model.DWidth, Is.EqualTo(32));
            Assert.That(digits.Model.EmaDecay, Is.EqualTo(0.99f));
            Assert.That(digits.Train.Batch, Is.EqualTo(64));
            Assert.That(digits.Train.Steps, Is.EqualTo(1500));
            Assert.That(digits.Train.LogEvery, Is.EqualTo(50));
            Assert.That(digits.Train.SampleEvery, Is.EqualTo(250));
            Assert.That(digits.Train.CheckpointEvery, Is.EqualTo(500));
        });

        TrainConfig dcgan = ConfigLoader.Preset("dcgan32");
        Assert.Multiple(() =>
        {
            Assert.That(dcgan.Model.Resolution, Is.EqualTo(32));
            Assert.That(dcgan.Model.Latent, Is.EqualTo(128));
            Assert.That(dcgan.Model.GWidth, Is.EqualTo(128));
            Assert.That(dcgan.Model.DWidth, Is.EqualTo(128));
            Assert.That(dcgan.Train.Steps, Is.EqualTo(20000));
            Assert.That(dcgan.Loss.Kind, Is.EqualTo("bce"));
            Assert.That(dcgan.Optim.G.Lr, Is.EqualTo(2e-4f));
            Assert.That(dcgan.Optim.D.Beta1, Is.EqualTo(0.5f));
            Assert.That(dcgan.Optim.D.Beta2, Is.EqualTo(0.999f));
        });

        TrainConfig sngan = ConfigLoader.Preset("sngan32");
        Assert.Multiple(() =>
        {
            Assert.That(sngan.Model.Family, Is.EqualTo("sngan-resnet"));
            Assert.That(sngan.Loss.Kind, Is.EqualTo("hinge"));
            Assert.That(sngan.Loss.DSteps, Is.EqualTo(2));
            Assert.That(sngan.Optim.G.Beta1, Is.EqualTo(0f));
            Assert.That(sngan.Optim.G.Beta2, Is.EqualTo(0.9f));
            Assert.That(sngan.Model.Resolution, Is.EqualTo(32));
            Assert.That(sngan.Model.GWidth, Is.EqualTo(128));
        });

        // presets are fresh objects: changing one does not change the next
        digits.Model.Latent = 7;
        Assert.That(ConfigLoader.Preset("digits").Model.Latent, Is.EqualTo(32));
    }

    [Test]
    public void AnEmptyFileIsTheDefaultPreset()
    {
        TrainConfig c = ConfigLoader.Parse("", Source);
        Assert.That(ConfigLoader.ToYaml(c), Is.EqualTo(ConfigLoader.ToYaml(ConfigLoader.Preset("digits"))));
        Assert.That(ConfigLoader.ToYaml(ConfigLoader.Parse("# only a comment\n", Source)), Is.EqualTo(ConfigLoader.ToYaml(c)));
    }

    [Test]
    public void KeysOverrideThePresetOneByOne()
    {
        TrainConfig c = ConfigLoader.Parse("""
            preset: dcgan32
            seed: 42
            optim:
              g:
                lr: 1e-4
            train:
              steps: 10
            """, Source);
        Assert.Multiple(() =>
        {
            Assert.That(c.Preset, Is.EqualTo("dcgan32"));
            Assert.That(c.Seed, Is.EqualTo(42UL));
            Assert.That(c.Optim.G.Lr, Is.EqualTo(1e-4f));
            Assert.That(c.Optim.G.Beta1, Is.EqualTo(0.5f), "sibling keys keep the preset's value");
            Assert.That(c.Optim.D.Lr, Is.EqualTo(2e-4f));
            Assert.That(c.Train.Steps, Is.EqualTo(10));
            Assert.That(c.Train.Batch, Is.EqualTo(64));
            Assert.That(c.Model.Latent, Is.EqualTo(128), "from the preset");
        });
    }

    [Test]
    public void ThePresetKeyMayComeAfterOtherKeys()
    {
        TrainConfig c = ConfigLoader.Parse("model:\n  latent: 5\npreset: sngan32\n", Source);
        Assert.That(c.Model.Latent, Is.EqualTo(5));
        Assert.That(c.Model.Family, Is.EqualTo("sngan-resnet"));
    }

    [Test]
    public void ValuesOfEveryType()
    {
        TrainConfig c = ConfigLoader.Parse("""
            seed: 18446744073709551615
            device: cuda:1
            data:
              dataset: png-folder
              path: "/data/my faces"
            model:
              d_batch_norm: false
              ema_decay: 0
            """, Source);
        Assert.Multiple(() =>
        {
            Assert.That(c.Seed, Is.EqualTo(ulong.MaxValue));
            Assert.That(c.Device, Is.EqualTo("cuda:1"));
            Assert.That(c.Data.Path, Is.EqualTo("/data/my faces"));
            Assert.That(c.Model.DBatchNorm, Is.False);
            Assert.That(c.Model.EmaDecay, Is.EqualTo(0f));
        });
        Assert.That(ConfigLoader.Parse("data:\n  path: ~\n", Source).Data.Path, Is.Null);
    }

    [Test]
    public void UnknownKeyNamesFileLineKeyAndTheClosestKnownKey()
    {
        ConfigException e = ParseError("seed: 3\ntrain:\n  steps: 10\n  log_evry: 10\n");
        Assert.Multiple(() =>
        {
            Assert.That(e.Diagnostics, Has.Count.EqualTo(1));
            Assert.That(e.SourceName, Is.EqualTo(Source));
            Assert.That(e.Line, Is.EqualTo(4));
            Assert.That(e.Column, Is.EqualTo(3));
            Assert.That(e.KeyPath, Is.EqualTo("train.log_evry"));
            Assert.That(e.Message, Does.StartWith("runs/exp1.yaml:4:3: train.log_evry: unknown key 'log_evry' in 'train'"));
            Assert.That(e.Message, Does.Contain("did you mean 'log_every'?"));
            Assert.That(e.Message, Does.Contain("steps, batch, log_every, sample_every, checkpoint_every, grid_samples"));
        });
    }

    [Test]
    public void CamelCaseKeysSuggestTheSnakeCaseKey()
    {
        ConfigException e = ParseError("model:\n  gWidth: 64\n");
        Assert.That(e.Message, Does.Contain("did you mean 'g_width'?"));
        ConfigException top = ParseError("sed: 3\n");
        Assert.That(top.Message, Does.Contain("unknown key 'sed' at the top level; did you mean 'seed'?"));
        Assert.That(ParseError("zzzzzzzz: 1\n").Message, Does.Not.Contain("did you mean"));
    }

    [Test]
    public void WrongTypeSaysWhatWasExpected()
    {
        ConfigException e = ParseError("optim:\n  g:\n    lr: abc\n");
        Assert.That(e.Message, Is.EqualTo("runs/exp1.yaml:3:9: optim.g.lr: expected a number, got 'abc'"));
        Assert.That(ParseError("train:\n  steps: 1.5\n").Message, Does.Contain("train.steps: expected an integer, got '1.5'"));
        Assert.That(ParseError("train:\n  steps: 99999999999\n").Message, Does.Contain("beyond the 32-bit range"));
        Assert.That(ParseError("model:\n  d_batch_norm: maybe\n").Message, Does.Contain("expected true or false, got 'maybe'"));
        Assert.That(ParseError("seed: -1\n").Message, Does.Contain("seed: expected a non-negative integer, got '-1'"));
        Assert.That(ParseError("model: 5\n").Message, Does.Contain("model: expected a mapping of keys (known keys: family, resolution"));
        Assert.That(ParseError("train:\n  batch: [1, 2]\n").Message, Does.Contain("train.batch: expected an integer, got a list"));
        Assert.That(ParseError("train:\n  batch:\n").Message, Does.Contain("train.batch: expected an integer, got null"));
        Assert.That(ParseError("optim:\n  d:\n    lr: .inf\n").Message, Does.Contain("expected a finite number"));
    }

    [Test]
    public void OutOfRangeValuesAreLocated()
    {
        ConfigException e = ParseError("model:\n  resolution: 20\n");
        Assert.That(e.Message, Is.EqualTo("runs/exp1.yaml:2:15: model.resolution: must be one of 8, 16, 28, 32, 64, got 20"));

        (string Yaml, string Key, string Problem)[] cases =
        [
            ("train:\n  steps: 0\n", "train.steps", "must be >= 1, got 0"),
            ("train:\n  batch: -3\n", "train.batch", "must be >= 1"),
            ("train:\n  log_every: 0\n", "train.log_every", "must be >= 1"),
            ("model:\n  channels: 2\n", "model.channels", "must be 1 (grey) or 3 (RGB)"),
            ("model:\n  family: stylegan\n", "model.family", "must be one of dcgan, sngan-resnet, got 'stylegan'"),
            ("loss:\n  kind: wgan\n", "loss.kind", "must be one of bce, hinge"),
            ("loss:\n  d_steps: 0\n", "loss.d_steps", "must be >= 1"),
            ("augment:\n  policy: color,flip\n", "augment", "unknown DiffAugment transform 'flip'"),
            ("augment:\n  policy: translation\n  translation: 1.5\n", "augment", "translation must be in [0, 1)"),
            ("data:\n  dataset: mnsit\n", "data.dataset", "did you mean 'mnist'?"),
            ("data:\n  split: val\n", "data.split", "must be one of all, train, test"),
            ("math: fp16\n", "math", "must be one of tf32, fp32"),
            ("optim:\n  g:\n    lr: 0\n", "optim.g.lr", "must be > 0"),
            ("optim:\n  d:\n    beta1: 1\n", "optim.d.beta1", "must be in [0, 1)"),
            ("optim:\n  d:\n    beta2: -0.1\n", "optim.d.beta2", "must be in [0, 1)"),
            ("model:\n  ema_decay: 1\n", "model.ema_decay", "must be in [0, 1)"),
            ("device: gpu\n", "device", "expected auto, cpu, cpu-deterministic, cuda[:N] or opencl[:PLATFORM]"),
            ("data:\n  dataset: png-folder\n", "data.path", "needs a path"),
        ];
        foreach ((string yaml, string key, string problem) in cases)
        {
            ConfigException x = ParseError(yaml);
            Assert.That(x.KeyPath, Is.EqualTo(key), yaml);
            Assert.That(x.Message, Does.Contain(key + ": " ).And.Contain(problem), yaml);
            Assert.That(x.SourceName, Is.EqualTo(Source));
        }
    }

    [Test]
    public void AllProblemsOfAFileAreReportedTogether()
    {
        ConfigException e = ParseError("train:\n  steps: 0\n  batch: x\nmodel:\n  colour: 3\n");
        Assert.That(e.Diagnostics.Select(d => (d.KeyPath, d.Line)),
            Is.EquivalentTo(new[] { ("train.steps", 2), ("train.batch", 3), ("model.colour", 5) }));
        Assert.That(e.Message, Does.StartWith("3 problems in the configuration:"));
    }

    [Test]
    public void UnknownPresetSuggestsOne()
    {
        ConfigException e = ParseError("preset: dcgan23\n");
        Assert.That(e.KeyPath, Is.EqualTo("preset"));
        Assert.That(e.Message, Does.Contain("unknown preset 'dcgan23'; did you mean 'dcgan32'?").And.Contain("digits, dcgan32, sngan32"));
        Assert.Throws<ConfigException>(() => ConfigLoader.Preset("nope"));
    }

    [Test]
    public void SyntaxErrorsAndDuplicateKeysAreLocated()
    {
        ConfigException syntax = ParseError("model:\n  latent: [1, 2\n");
        Assert.That(syntax.Message, Does.StartWith("runs/exp1.yaml:").And.Contain("YAML syntax error"));
        Assert.That(syntax.Line, Is.GreaterThan(0));

        ConfigException twice = ParseError("seed: 1\nseed: 2\n");
        Assert.That(twice.Message, Is.EqualTo("runs/exp1.yaml:2:1: seed: the key is given twice (first at line 1)"));

        Assert.That(ParseError("- a\n- b\n").Message, Does.Contain("expected a mapping of keys"));
        Assert.That(ParseError("seed: 1\n---\nseed: 2\n").Message, Does.Contain("more than one YAML document"));
    }

    [Test]
    public void ValidateNamesTheKeyOfAProgrammaticConfig()
    {
        TrainConfig c = ConfigLoader.Preset("digits");
        c.Train.Steps = 0;
        c.Optim.G.Lr = float.NaN;
        ConfigException e = Assert.Throws<ConfigException>(() => ConfigLoader.Validate(c))!;
        Assert.That(e.Diagnostics.Select(d => d.KeyPath), Is.EquivalentTo(new[] { "train.steps", "optim.g.lr" }));
        Assert.That(e.Message, Does.Contain("train.steps: must be >= 1, got 0"));
    }

    [Test]
    public void LoadNamesTheFile()
    {
        string dir = Path.Combine(Path.GetTempPath(), "ganengine-config-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string file = Path.Combine(dir, "run.yaml");
            File.WriteAllText(file, "preset: sngan32\ntrain:\n  steps: 7\n");
            TrainConfig c = ConfigLoader.Load(file);
            Assert.That(c.Train.Steps, Is.EqualTo(7));
            Assert.That(c.Loss.Kind, Is.EqualTo("hinge"));

            File.WriteAllText(file, "train:\n  stepz: 7\n");
            ConfigException e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(file))!;
            Assert.That(e.Message, Does.StartWith(file + ":2:3: train.stepz: unknown key"));

            ConfigException missing = Assert.Throws<ConfigException>(() => ConfigLoader.Load(Path.Combine(dir, "none.yaml")))!;
            Assert.That(missing.Message, Does.Contain("none.yaml").And.Contain("does not exist"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void ToYamlRoundTripsEveryPreset()
    {
        foreach (string name in ConfigLoader.PresetNames)
        {
            TrainConfig c = ConfigLoader.Preset(name);
            string yaml = ConfigLoader.ToYaml(c);
            TrainConfig back = ConfigLoader.Parse(yaml, "<round trip>");
            AssertSameValues(back, c, name);
            Assert.That(ConfigLoader.ToYaml(back), Is.EqualTo(yaml));
        }
    }

    [Test]
    public void ToYamlRoundTripsUnusualValues()
    {
        TrainConfig c = ConfigLoader.Preset("dcgan32");
        c.Seed = ulong.MaxValue;
        c.Device = "opencl:NVIDIA CUDA";
        c.Data.Dataset = "png-folder";
        c.Data.Path = "C:\\data\\\"faces\": #1\nnext\tline ünïcode";
        c.Model.EmaDecay = 0.1f;
        c.Optim.G.Lr = 1.2345678e-5f;
        c.Optim.D.Eps = float.Epsilon;
        c.Optim.D.WeightDecay = 3.4e38f;
        c.Model.DBatchNorm = false;
        string yaml = ConfigLoader.ToYaml(c);
        TrainConfig back = ConfigLoader.Parse(yaml, "<round trip>");
        AssertSameValues(back, c, "unusual");

        c.Data.Path = "true";
        AssertSameValues(ConfigLoader.Parse(ConfigLoader.ToYaml(c), "<round trip>"), c, "a path that looks like a bool");
        c.Data.Path = "123";
        AssertSameValues(ConfigLoader.Parse(ConfigLoader.ToYaml(c), "<round trip>"), c, "a path that looks like a number");
        c.Data.Path = "null";
        AssertSameValues(ConfigLoader.Parse(ConfigLoader.ToYaml(c), "<round trip>"), c, "a path spelled null");
    }

    [Test]
    public void ToYamlWritesEveryKey()
    {
        string yaml = ConfigLoader.ToYaml(ConfigLoader.Preset("digits"));
        foreach (string key in new[] { "preset:", "seed:", "device:", "math:", "data:", "  dataset:", "  path: null", "  split:", "  prefetch:",
                     "model:", "  family:", "  g_width: 32", "  d_width: 32", "  d_batch_norm: true", "  ema_decay: 0.99", "  ema_start: 0",
                     "loss:", "  kind: bce", "  d_steps: 1", "optim:", "  g:", "    lr: 0.0003", "    beta1: 0.5", "    weight_decay: 0", "  d:",
                     "train:", "  steps: 1500", "  log_every: 50", "  sample_every: 250", "  checkpoint_every: 500", "  grid_samples: 100", "architecture:", "  seed_factor: 1", "  prune_multiple: 8", "  real_target: 1" })
        {
            Assert.That(yaml, Does.Contain("\n" + key), key);
        }
    }

    private static void AssertSameValues(object actual, object expected, string context, string path = "")
    {
        foreach (PropertyInfo p in expected.GetType().GetProperties())
        {
            object? a = p.GetValue(actual);
            object? e = p.GetValue(expected);
            string key = path + p.Name;
            if (e is not null && e.GetType().Namespace == typeof(TrainConfig).Namespace && e is not string)
            {
                AssertSameValues(a!, e, context, key + ".");
            }
            else
            {
                Assert.That(a, Is.EqualTo(e), $"{context}: {key}");
            }
        }
    }
}
