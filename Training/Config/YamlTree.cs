using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace GanEngine.Training.Config;

// A small YAML node tree built from YamlDotNet's event parser. The representation model of YamlDotNet
// keeps mappings in dictionaries, which loses duplicate keys; this keeps every entry, in order, with the
// line and column of each node, which is what the configuration diagnostics need.

internal abstract class YNode(int line, int column)
{
    public int Line { get; } = line;

    public int Column { get; } = column;

    /// <summary>What a diagnostic calls this node when it is not what was expected.</summary>
    public abstract string Describe();
}

internal sealed class YScalar(string value, ScalarStyle style, int line, int column) : YNode(line, column)
{
    public string Value { get; } = value;

    public ScalarStyle Style { get; } = style;

    /// <summary>An unquoted empty value, <c>~</c> or <c>null</c> (YAML's null).</summary>
    public bool IsNull => Style == ScalarStyle.Plain && Value is "" or "~" or "null" or "Null" or "NULL";

    public override string Describe() => IsNull ? "null (no value)" : $"'{Value}'";
}

internal sealed class YMapping(int line, int column) : YNode(line, column)
{
    public List<KeyValuePair<YNode, YNode>> Entries { get; } = [];

    public override string Describe() => "a mapping";
}

internal sealed class YSequence(int line, int column) : YNode(line, column)
{
    public List<YNode> Items { get; } = [];

    public override string Describe() => "a list";
}

internal static class YamlTree
{
    /// <summary>
    /// The documents of a YAML text (usually one). Throws <see cref="YamlException"/> on a syntax error
    /// (it carries the position).
    /// </summary>
    public static List<YNode> Load(string text)
    {
        var parser = new Parser(new StringReader(text));
        var documents = new List<YNode>();
        var anchors = new Dictionary<string, YNode>(StringComparer.Ordinal);
        Next(parser);
        Expect<StreamStart>(parser);
        Next(parser);
        while (parser.Current is DocumentStart)
        {
            Next(parser);
            documents.Add(ReadNode(parser, anchors));
            Expect<DocumentEnd>(parser);
            Next(parser);
        }
        Expect<StreamEnd>(parser);
        return documents;
    }

    // Reads the node starting at the current event and leaves the parser on the event after it.
    private static YNode ReadNode(Parser parser, Dictionary<string, YNode> anchors)
    {
        ParsingEvent current = parser.Current ?? throw new YamlException("unexpected end of the YAML text");
        (int line, int column) = Position(current.Start);
        YNode node;
        switch (current)
        {
            case Scalar scalar:
                node = new YScalar(scalar.Value, scalar.Style, line, column);
                Remember(scalar.Anchor, node, anchors);
                Next(parser);
                return node;
            case AnchorAlias alias:
                if (!anchors.TryGetValue(alias.Value.Value, out YNode? target))
                {
                    throw new YamlException(current.Start, current.End, $"alias *{alias.Value.Value} names no anchor defined before it");
                }
                Next(parser);
                return target;
            case MappingStart mappingStart:
            {
                var mapping = new YMapping(line, column);
                Remember(mappingStart.Anchor, mapping, anchors);
                Next(parser);
                while (parser.Current is not MappingEnd)
                {
                    YNode key = ReadNode(parser, anchors);
                    YNode value = ReadNode(parser, anchors);
                    mapping.Entries.Add(new KeyValuePair<YNode, YNode>(key, value));
                }
                Next(parser);
                return mapping;
            }
            case SequenceStart sequenceStart:
            {
                var sequence = new YSequence(line, column);
                Remember(sequenceStart.Anchor, sequence, anchors);
                Next(parser);
                while (parser.Current is not SequenceEnd)
                {
                    sequence.Items.Add(ReadNode(parser, anchors));
                }
                Next(parser);
                return sequence;
            }
            default:
                throw new YamlException(current.Start, current.End, $"unexpected {current.GetType().Name} in the YAML text");
        }
    }

    private static void Remember(AnchorName anchor, YNode node, Dictionary<string, YNode> anchors)
    {
        if (!anchor.IsEmpty)
        {
            anchors[anchor.Value] = node;
        }
    }

    private static void Next(Parser parser)
    {
        if (!parser.MoveNext())
        {
            throw new YamlException("unexpected end of the YAML text");
        }
    }

    private static void Expect<T>(Parser parser)
        where T : ParsingEvent
    {
        if (parser.Current is not T)
        {
            ParsingEvent? e = parser.Current;
            throw e is null
                ? new YamlException("unexpected end of the YAML text")
                : new YamlException(e.Start, e.End, $"expected {typeof(T).Name}, found {e.GetType().Name}");
        }
    }

    public static (int Line, int Column) Position(Mark mark) => ((int)mark.Line, (int)mark.Column);
}
