using System.Reflection;
using System.Text;

namespace GanEngine.Training.Config;

/// <summary>One YAML key of a config class: its snake_case name and the property behind it.</summary>
internal sealed class ConfigKey(string name, PropertyInfo property, bool nullable)
{
    public string Name { get; } = name;

    public PropertyInfo Property { get; } = property;

    /// <summary>A nested section (a config class) rather than a scalar value.</summary>
    public bool IsSection => ConfigSchema.IsSectionType(Property.PropertyType);

    /// <summary>Null is a valid value (a <c>string?</c> property).</summary>
    public bool Nullable { get; } = nullable;
}

/// <summary>
/// The keys of the config classes, found by reflection: every public read/write property, named in
/// snake_case (<c>GWidth</c> → <c>g_width</c>, <c>LogEvery</c> → <c>log_every</c>), in declaration order.
/// </summary>
internal static class ConfigSchema
{
    private static readonly Dictionary<Type, IReadOnlyList<ConfigKey>> Cache = [];
    private static readonly Lock CacheLock = new();

    public static IReadOnlyList<ConfigKey> KeysOf(Type type)
    {
        lock (CacheLock)
        {
            if (!Cache.TryGetValue(type, out IReadOnlyList<ConfigKey>? keys))
            {
                var nullability = new NullabilityInfoContext();
                keys = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                    .Where(p => p.CanRead && p.CanWrite && p.GetIndexParameters().Length == 0)
                    .OrderBy(p => p.MetadataToken)
                    .Select(p => new ConfigKey(
                        SnakeCase(p.Name),
                        p,
                        p.PropertyType == typeof(string) && nullability.Create(p).WriteState == NullabilityState.Nullable))
                    .ToArray();
                Cache[type] = keys;
            }
            return keys;
        }
    }

    public static bool IsSectionType(Type type) =>
        type.IsClass && type != typeof(string) && type.Namespace == typeof(TrainConfig).Namespace;

    /// <summary>PascalCase to snake_case: an underscore before a capital that follows a lower-case letter or
    /// digit, or that starts a word after an acronym (<c>GWidth</c> → <c>g_width</c>).</summary>
    public static string SnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c) && i > 0)
            {
                char previous = name[i - 1];
                bool nextIsLower = i + 1 < name.Length && char.IsLower(name[i + 1]);
                if (char.IsLower(previous) || char.IsDigit(previous) || (char.IsUpper(previous) && nextIsLower))
                {
                    sb.Append('_');
                }
            }
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    /// <summary>
    /// The candidate closest to <paramref name="given"/>, when it is close enough to be a likely typo
    /// (same letters ignoring case, '_' and '-'; or an edit distance of at most a third of the length).
    /// </summary>
    public static string? Closest(string given, IEnumerable<string> candidates)
    {
        string normalizedGiven = Normalize(given);
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string candidate in candidates)
        {
            string normalized = Normalize(candidate);
            if (normalized == normalizedGiven)
            {
                return candidate;
            }
            int distance = EditDistance(normalizedGiven, normalized);
            if (distance < bestDistance)
            {
                bestDistance = distance;
                best = candidate;
            }
        }
        int allowed = Math.Max(1, Math.Max(normalizedGiven.Length, best?.Length ?? 0) / 3);
        return bestDistance <= allowed ? best : null;
    }

    private static string Normalize(string s) =>
        new string(s.Where(ch => ch is not ('_' or '-' or ' ')).Select(char.ToLowerInvariant).ToArray());

    /// <summary>Levenshtein distance with adjacent transpositions counted as one edit.</summary>
    internal static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }
        for (int j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                int value = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    value = Math.Min(value, d[i - 2, j - 2] + 1);
                }
                d[i, j] = value;
            }
        }
        return d[a.Length, b.Length];
    }
}
