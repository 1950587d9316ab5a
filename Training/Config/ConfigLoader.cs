using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;

namespace GanEngine.Training.Config;

/// <summary>
/// Reads, validates and writes run configurations (YAML, snake_case keys of <see cref="TrainConfig"/>).
/// </summary>
/// <remarks>
/// A file starts from a preset: the one its top-level <c>preset: NAME</c> key names, else <c>digits</c>;
/// every key the file gives then overrides the preset's value (a deep merge: <c>optim: {g: {lr: 1e-4}}</c>
/// changes only G's learning rate). Unknown keys, values of the wrong type and values out of range are
/// errors (<see cref="ConfigException"/>) naming the file, line, column and key path; all problems of a
/// file are reported together.
/// </remarks>
public static partial class ConfigLoader
{
    /// <summary>The preset a file starts from when it names none.</summary>
    public const string DefaultPreset = "digits";

    private const string PresetKey = "preset";

    /// <summary>Valid values of the string keys that take one of a fixed set.</summary>
    private static readonly string[] Maths = ["tf32", "fp32"];
    private static readonly string[] Datasets = ["digits", "mnist", "fashion-mnist", "cifar10", "cifar100", "png-folder"];
    private static readonly string[] Splits = ["all", "train", "test"];
    private static readonly string[] Families = ["dcgan", "sngan-resnet"];
    private static readonly string[] Losses = ["bce", "hinge", "adaptive"];
    private static readonly int[] Resolutions = [8, 16, 28, 32, 64];
    private static readonly int[] ChannelCounts = [1, 3];

    /// <summary>Names of the presets (<c>digits</c>, the default, first).</summary>
    public static IReadOnlyList<string> PresetNames => Presets.Names;

    /// <summary>Reads and validates a YAML configuration file.</summary>
    /// <exception cref="ConfigException">The file cannot be read, or the configuration is not valid.</exception>
    public static TrainConfig Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path, Encoding.UTF8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            string problem = e is FileNotFoundException or DirectoryNotFoundException ? "the file does not exist" : "cannot read the file: " + e.Message;
            throw new ConfigException([new ConfigDiagnostic(path, 0, 0, "", problem)], e);
        }
        return Parse(text, path);
    }

    /// <summary>
    /// Parses and validates a YAML configuration; <paramref name="sourceName"/> (a file path, or something
    /// like <c>&lt;command line&gt;</c>) is what diagnostics name as the source.
    /// </summary>
    /// <exception cref="ConfigException">The configuration is not valid.</exception>
    public static TrainConfig Parse(string yaml, string sourceName)
    {
        var parse = new ParseState(sourceName);
        List<YNode> documents;
        try
        {
            documents = YamlTree.Load(yaml);
        }
        catch (YamlException e)
        {
            (int line, int column) = YamlTree.Position(e.Start);
            throw new ConfigException([new ConfigDiagnostic(sourceName, line, column, "", "YAML syntax error: " + StripPosition(e.Message))], e);
        }

        if (documents.Count > 1)
        {
            parse.Error(documents[1], "", "the file holds more than one YAML document (---); a configuration is one mapping of keys");
        }
        YNode? root = documents.Count == 0 ? null : documents[0];
        TrainConfig config;
        if (root is YMapping mapping)
        {
            config = StartFromPreset(mapping, parse);
            Apply(config, typeof(TrainConfig), mapping, "", parse);
        }
        else
        {
            if (root is not null && !(root is YScalar s && s.IsNull))
            {
                parse.Error(root, "", $"expected a mapping of keys (known keys: {KeyList(typeof(TrainConfig))}), got {root.Describe()}");
            }
            config = Presets.Create(DefaultPreset)!;
        }

        foreach ((string key, string problem) in Check(config))
        {
            if (parse.Locations.TryGetValue(key, out YNode? at))
            {
                parse.Error(at, key, problem);
            }
            else
            {
                parse.Diagnostics.Add(new ConfigDiagnostic(sourceName, 0, 0, key, $"{problem} (value from preset '{config.Preset}')"));
            }
        }
        if (parse.Diagnostics.Count > 0)
        {
            throw new ConfigException(parse.Diagnostics);
        }
        return config;
    }

    /// <summary>A fresh configuration of a preset (see <see cref="PresetNames"/>).</summary>
    /// <exception cref="ConfigException">There is no preset of that name.</exception>
    public static TrainConfig Preset(string name) =>
        Presets.Create(name) ?? throw new ConfigException([new ConfigDiagnostic("<presets>", 0, 0, PresetKey, UnknownPreset(name))]);

    /// <summary>
    /// Checks every value's range; the message of the exception lists every problem with its key path.
    /// </summary>
    /// <exception cref="ConfigException">The configuration is not valid.</exception>
    public static void Validate(TrainConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        List<ConfigDiagnostic> diagnostics = Check(c).Select(p => new ConfigDiagnostic("<config>", 0, 0, p.Key, p.Problem)).ToList();
        if (diagnostics.Count > 0)
        {
            throw new ConfigException(diagnostics);
        }
    }

    /// <summary>
    /// The configuration as YAML with every key (the resolved values, not only what differs from the
    /// preset), so that <see cref="Parse"/> of it gives back the same values.
    /// </summary>
    public static string ToYaml(TrainConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var sb = new StringBuilder();
        sb.Append("# GanEngine run configuration (resolved: every key; the preset it started from is informational)\n");
        WriteSection(sb, c, typeof(TrainConfig), 0);
        return sb.ToString();
    }

    // ---------------------------------------------------------------- parsing

    private sealed class ParseState(string sourceName)
    {
        public string SourceName { get; } = sourceName;

        public List<ConfigDiagnostic> Diagnostics { get; } = [];

        /// <summary>The value node of every key path the text gave (for range errors found later).</summary>
        public Dictionary<string, YNode> Locations { get; } = new(StringComparer.Ordinal);

        public void Error(YNode at, string keyPath, string problem) =>
            Diagnostics.Add(new ConfigDiagnostic(SourceName, at.Line, at.Column, keyPath, problem));
    }

    private static TrainConfig StartFromPreset(YMapping root, ParseState parse)
    {
        foreach ((YNode key, YNode value) in root.Entries)
        {
            if (key is YScalar { Value: PresetKey })
            {
                parse.Locations[PresetKey] = value;
                if (value is YScalar scalar && !scalar.IsNull)
                {
                    TrainConfig? preset = Presets.Create(scalar.Value);
                    if (preset is not null)
                    {
                        return preset;
                    }
                    parse.Error(value, PresetKey, UnknownPreset(scalar.Value));
                }
                else
                {
                    parse.Error(value, PresetKey, $"expected a preset name ({string.Join(", ", Presets.Names)}), got {value.Describe()}");
                }
                break;
            }
        }
        return Presets.Create(DefaultPreset)!;
    }

    private static void Apply(object target, Type type, YMapping mapping, string prefix, ParseState parse)
    {
        IReadOnlyList<ConfigKey> keys = ConfigSchema.KeysOf(type);
        var seen = new Dictionary<string, YNode>(StringComparer.Ordinal);
        foreach ((YNode keyNode, YNode valueNode) in mapping.Entries)
        {
            if (keyNode is not YScalar keyScalar || keyScalar.IsNull)
            {
                parse.Error(keyNode, prefix, $"expected a key name, got {keyNode.Describe()}");
                continue;
            }
            string name = keyScalar.Value;
            string path = prefix.Length == 0 ? name : prefix + "." + name;
            if (seen.TryGetValue(name, out YNode? first))
            {
                parse.Error(keyNode, path, $"the key is given twice (first at line {first.Line})");
                continue;
            }
            seen[name] = keyNode;
            if (prefix.Length == 0 && name == PresetKey)
            {
                continue; // applied first, by StartFromPreset
            }
            ConfigKey? key = keys.FirstOrDefault(k => k.Name == name);
            if (key is null)
            {
                string level = prefix.Length == 0 ? "at the top level" : $"in '{prefix}'";
                string? suggestion = ConfigSchema.Closest(name, keys.Select(k => k.Name));
                parse.Error(keyNode, path,
                    $"unknown key '{name}' {level}" + (suggestion is null ? "" : $"; did you mean '{suggestion}'?")
                    + $" Known keys: {KeyList(type)}");
                continue;
            }
            parse.Locations[path] = valueNode;
            if (key.IsSection)
            {
                object section = key.Property.GetValue(target) ?? throw new InvalidOperationException($"{type.Name}.{key.Property.Name} is null");
                switch (valueNode)
                {
                    case YMapping nested:
                        Apply(section, key.Property.PropertyType, nested, path, parse);
                        break;
                    case YScalar { IsNull: true }:
                        break; // an empty section changes nothing
                    default:
                        parse.Error(valueNode, path,
                            $"expected a mapping of keys (known keys: {KeyList(key.Property.PropertyType)}), got {valueNode.Describe()}");
                        break;
                }
                continue;
            }
            if (TryConvert(key, valueNode, out object? value, out string? problem))
            {
                key.Property.SetValue(target, value);
            }
            else
            {
                parse.Error(valueNode, path, problem!);
            }
        }
    }

    private static bool TryConvert(ConfigKey key, YNode node, out object? value, out string? problem)
    {
        Type type = key.Property.PropertyType;
        string expected = type == typeof(int) ? "an integer"
            : type == typeof(ulong) ? "a non-negative integer"
            : type == typeof(float) || type == typeof(double) ? "a number"
            : type == typeof(bool) ? "true or false"
            : "a string";
        value = null;
        problem = null;
        if (node is not YScalar scalar)
        {
            problem = $"expected {expected}, got {node.Describe()}";
            return false;
        }
        if (scalar.IsNull)
        {
            if (key.Nullable)
            {
                return true;
            }
            problem = $"expected {expected}, got null (no value)";
            return false;
        }
        string text = scalar.Value.Trim();
        const NumberStyles integer = NumberStyles.AllowLeadingSign;
        const NumberStyles real = NumberStyles.Float;
        CultureInfo inv = CultureInfo.InvariantCulture;
        if (type == typeof(string))
        {
            value = scalar.Value;
            return true;
        }
        if (type == typeof(int))
        {
            if (int.TryParse(text, integer, inv, out int i))
            {
                value = i;
                return true;
            }
            problem = long.TryParse(text, integer, inv, out _)
                ? $"expected {expected}, got '{scalar.Value}' (beyond the 32-bit range)"
                : $"expected {expected}, got '{scalar.Value}'";
            return false;
        }
        if (type == typeof(ulong))
        {
            if (ulong.TryParse(text, NumberStyles.None, inv, out ulong u))
            {
                value = u;
                return true;
            }
            problem = $"expected {expected}, got '{scalar.Value}'";
            return false;
        }
        if (type == typeof(float) || type == typeof(double))
        {
            if (double.TryParse(text, real, inv, out double d))
            {
                double converted = type == typeof(float) ? (float)d : d;
                if (double.IsFinite(converted))
                {
                    value = type == typeof(float) ? (object)(float)d : d;
                    return true;
                }
                problem = $"expected a finite number, got '{scalar.Value}'";
                return false;
            }
            if (text.TrimStart('+', '-').ToLowerInvariant() is ".inf" or ".nan")
            {
                problem = $"expected a finite number, got '{scalar.Value}'";
                return false;
            }
            problem = $"expected {expected}, got '{scalar.Value}'";
            return false;
        }
        if (type == typeof(bool))
        {
            if (text.Equals("true", StringComparison.OrdinalIgnoreCase))
            {
                value = true;
                return true;
            }
            if (text.Equals("false", StringComparison.OrdinalIgnoreCase))
            {
                value = false;
                return true;
            }
            problem = $"expected {expected}, got '{scalar.Value}'";
            return false;
        }
        throw new NotSupportedException($"config property of type {type.Name} has no YAML conversion");
    }

    private static string KeyList(Type type) => string.Join(", ", ConfigSchema.KeysOf(type).Select(k => k.Name));

    private static string UnknownPreset(string name)
    {
        string? suggestion = ConfigSchema.Closest(name, Presets.Names);
        return $"unknown preset '{name}'" + (suggestion is null ? "." : $"; did you mean '{suggestion}'?")
            + $" Known presets: {string.Join(", ", Presets.Names)}.";
    }

    // YamlDotNet prefixes its messages with "(Line: 1, Col: 2, Idx: 3) - (Line: ...): "; the diagnostic has the position already.
    private static string StripPosition(string message)
    {
        Match m = YamlPositionPrefix().Match(message);
        return m.Success ? message[m.Length..] : message;
    }

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ")]
    private static partial Regex YamlPositionPrefix();

    // ---------------------------------------------------------------- validation

    private static IEnumerable<(string Key, string Problem)> Check(TrainConfig c)
    {
        if (!Presets.Names.Contains(c.Preset))
        {
            yield return (PresetKey, UnknownPreset(c.Preset));
        }
        if (!DeviceSyntax().IsMatch(c.Device ?? ""))
        {
            yield return ("device", $"expected auto, cpu, cpu-deterministic, cuda[:N] or opencl[:PLATFORM], got '{c.Device}'");
        }
        foreach (var p in OneOf("math", c.Math, Maths))
        {
            yield return p;
        }

        DataConfig data = c.Data;
        foreach (var p in OneOf("data.dataset", data.Dataset, Datasets))
        {
            yield return p;
        }
        if (data.Dataset == "png-folder" && string.IsNullOrWhiteSpace(data.Path))
        {
            yield return ("data.path", "the png-folder dataset needs a path (the folder of images)");
        }
        foreach (var p in OneOf("data.split", data.Split, Splits))
        {
            yield return p;
        }
        if (data.Prefetch < 0)
        {
            yield return ("data.prefetch", $"must be >= 0, got {data.Prefetch}");
        }

        ModelConfig model = c.Model;
        foreach (var p in OneOf("model.family", model.Family, Families))
        {
            yield return p;
        }
        if (!Resolutions.Contains(model.Resolution))
        {
            yield return ("model.resolution", $"must be one of {string.Join(", ", Resolutions)}, got {model.Resolution}");
        }
        if (!ChannelCounts.Contains(model.Channels))
        {
            yield return ("model.channels", $"must be 1 (grey) or 3 (RGB), got {model.Channels}");
        }
        foreach (var p in AtLeast(1, ("model.latent", model.Latent), ("model.g_width", model.GWidth), ("model.d_width", model.DWidth)))
        {
            yield return p;
        }
        if (!(model.EmaDecay >= 0 && model.EmaDecay < 1))
        {
            yield return ("model.ema_decay", $"must be in [0, 1) (0 disables the EMA), got {Format(model.EmaDecay)}");
        }
        if (model.EmaStart < 0)
        {
            yield return ("model.ema_start", $"must be >= 0, got {model.EmaStart}");
        }

        foreach (var p in OneOf("loss.kind", c.Loss.Kind, Losses))
        {
            yield return p;
        }
        foreach (var p in AtLeast(1, ("loss.d_steps", c.Loss.DSteps)))
        {
            yield return p;
        }
        if (!(c.Loss.RealTarget > 0.5f && c.Loss.RealTarget <= 1f))
        {
            yield return ("loss.real_target", $"must be in (0.5, 1], got {Format(c.Loss.RealTarget)}");
        }
        string? augmentProblem = null;
        try
        {
            GanEngine.Ops.Augment.DiffAugmentPolicy.Parse(c.Augment.Policy ?? "", c.Augment.Translation, c.Augment.Cutout);
        }
        catch (ArgumentException e)
        {
            augmentProblem = e.Message;
        }
        if (augmentProblem is not null)
        {
            yield return ("augment", augmentProblem);
        }

        ArchitectureConfig a = c.Architecture;
        if (!(a.SeedFactor > 0f && a.SeedFactor <= 1f))
        {
            yield return ("architecture.seed_factor", $"must be in (0, 1], got {Format(a.SeedFactor)}");
        }
        if (a.GrowEvery < 0 || a.GrowTimes < 0 || a.PruneAt < 0)
        {
            yield return ("architecture", "grow_every, grow_times and prune_at must be >= 0");
        }
        if (!(a.GrowFactor > 1f) || !float.IsFinite(a.GrowFactor))
        {
            yield return ("architecture.grow_factor", $"must be > 1, got {Format(a.GrowFactor)}");
        }
        foreach (var p in OneOf("architecture.grow_rule", a.GrowRule, ["net2wider", "replicate"]))
        {
            yield return p;
        }
        foreach (var p in OneOf("architecture.grow_select", a.GrowSelect, ["all", "l1"]))
        {
            yield return p;
        }
        foreach (var p in OneOf("architecture.optimizer_state", a.OptimizerState, ["copy", "reset"]))
        {
            yield return p;
        }
        foreach (var p in OneOf("architecture.prune_scope", a.PruneScope, ["layer", "global"]))
        {
            yield return p;
        }
        foreach (var p in OneOf("architecture.prune_score", a.PruneScore, ["l1", "l1-gamma"]))
        {
            yield return p;
        }
        foreach (var p in OneOf("architecture.networks", a.Networks, ["both", "g", "d"]))
        {
            yield return p;
        }
        if (!(a.GrowNoise >= 0f) || !(a.PruneRatio >= 0f && a.PruneRatio < 1f))
        {
            yield return ("architecture", "grow_noise must be >= 0 and prune_ratio in [0, 1)");
        }
        if (a.MinWidth < 1)
        {
            yield return ("architecture.min_width", $"must be >= 1, got {a.MinWidth}");
        }
        if (a.PruneThreshold < 0f || a.PruneTargetParamsG < 0 || a.PruneTargetParamsD < 0)
        {
            yield return ("architecture", "prune_threshold and prune_target_params_g / _d must be >= 0");
        }
        if ((a.PruneThreshold > 0f || a.PruneTargetParamsG > 0 || a.PruneTargetParamsD > 0) && a.PruneScope != "global")
        {
            yield return ("architecture.prune_scope", "prune_threshold and prune_target_params_* need prune_scope: global");
        }
        if (a.PruneMultiple < 1)
        {
            yield return ("architecture.prune_multiple", $"must be >= 1, got {a.PruneMultiple}");
        }
        if ((a.SeedFactor < 1f || a.GrowEvery > 0 || a.PruneAt > 0) && c.Model.Family != "dcgan")
        {
            yield return ("architecture", $"growth and pruning support the dcgan family only, not {c.Model.Family}");
        }

        foreach ((string name, AdamConfig adam) in new[] { ("optim.g", c.Optim.G), ("optim.d", c.Optim.D) })
        {
            if (!(adam.Lr > 0) || !float.IsFinite(adam.Lr))
            {
                yield return ($"{name}.lr", $"must be > 0, got {Format(adam.Lr)}");
            }
            if (!(adam.Beta1 >= 0 && adam.Beta1 < 1))
            {
                yield return ($"{name}.beta1", $"must be in [0, 1), got {Format(adam.Beta1)}");
            }
            if (!(adam.Beta2 >= 0 && adam.Beta2 < 1))
            {
                yield return ($"{name}.beta2", $"must be in [0, 1), got {Format(adam.Beta2)}");
            }
            if (!(adam.Eps > 0) || !float.IsFinite(adam.Eps))
            {
                yield return ($"{name}.eps", $"must be > 0, got {Format(adam.Eps)}");
            }
            if (!(adam.WeightDecay >= 0) || !float.IsFinite(adam.WeightDecay))
            {
                yield return ($"{name}.weight_decay", $"must be >= 0, got {Format(adam.WeightDecay)}");
            }
        }

        ScheduleConfig t = c.Train;
        foreach (var p in AtLeast(1,
            ("train.steps", t.Steps), ("train.batch", t.Batch), ("train.log_every", t.LogEvery),
            ("train.sample_every", t.SampleEvery), ("train.checkpoint_every", t.CheckpointEvery),
            ("train.grid_samples", t.GridSamples)))
        {
            yield return p;
        }
    }

    private static IEnumerable<(string Key, string Problem)> OneOf(string key, string? value, string[] allowed)
    {
        if (value is null || !allowed.Contains(value))
        {
            string? suggestion = value is null ? null : ConfigSchema.Closest(value, allowed);
            yield return (key, $"must be one of {string.Join(", ", allowed)}, got " + (value is null ? "null" : $"'{value}'")
                + (suggestion is null ? "" : $"; did you mean '{suggestion}'?"));
        }
    }

    private static IEnumerable<(string Key, string Problem)> AtLeast(int minimum, params (string Key, int Value)[] values)
    {
        foreach ((string key, int value) in values)
        {
            if (value < minimum)
            {
                yield return (key, $"must be >= {minimum}, got {value}");
            }
        }
    }

    [GeneratedRegex(@"^(auto|cpu|cpu-deterministic|cuda(:\d+)?|opencl(:.+)?)$")]
    private static partial Regex DeviceSyntax();

    // ---------------------------------------------------------------- writing

    private static void WriteSection(StringBuilder sb, object section, Type type, int indent)
    {
        foreach (ConfigKey key in ConfigSchema.KeysOf(type))
        {
            sb.Append(' ', indent).Append(key.Name).Append(':');
            object? value = key.Property.GetValue(section);
            if (key.IsSection)
            {
                sb.Append('\n');
                WriteSection(sb, value ?? throw new InvalidOperationException($"{type.Name}.{key.Property.Name} is null"),
                    key.Property.PropertyType, indent + 2);
                continue;
            }
            sb.Append(' ').Append(ScalarText(value)).Append('\n');
        }
    }

    private static string ScalarText(object? value) => value switch
    {
        null => "null",
        string s => QuoteIfNeeded(s),
        bool b => b ? "true" : "false",
        float f => Format(f),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => throw new NotSupportedException($"config value of type {value.GetType().Name} has no YAML form"),
    };

    private static string Format(float f) => f.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A plain scalar when it reads back as the same string in any YAML reader, else double-quoted.</summary>
    private static string QuoteIfNeeded(string s)
    {
        bool plain = PlainSafe().IsMatch(s)
            && !double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
            && s.ToLowerInvariant() is not ("true" or "false" or "yes" or "no" or "on" or "off" or "null" or "y" or "n");
        if (plain)
        {
            return s;
        }
        var sb = new StringBuilder(s.Length + 2).Append('"');
        foreach (char ch in s)
        {
            switch (ch)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (char.IsControl(ch))
                    {
                        sb.Append("\\u").Append(((int)ch).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(ch);
                    }
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    [GeneratedRegex(@"^[A-Za-z_/.][A-Za-z0-9_/.:+-]*(?<!:)$")]
    private static partial Regex PlainSafe();
}
