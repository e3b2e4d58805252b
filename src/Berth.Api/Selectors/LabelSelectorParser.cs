using Berth.Api.Validation;
namespace Berth.Api.Selectors;

/// <summary>
/// Lexer and recursive-descent parser of <c>k8s.io/apimachinery/pkg/labels/selector.go</c>, kept
/// token for token so error messages match. Returns errors instead of throwing (query hot path).
/// </summary>
internal sealed class LabelSelectorParser(string input)
{
    private readonly List<(Token Token, string Literal)> _items = [];
    private int _position;
    private int _lexPosition;

    private enum Token
    {
        Error,
        EndOfString,
        ClosedPar,
        Comma,
        DoesNotExist,
        DoubleEquals,
        Equals,
        GreaterThan,
        Identifier,
        In,
        LessThan,
        NotEquals,
        NotIn,
        OpenPar,
    }

    private enum Context
    {
        KeyAndOperator,
        Values,
    }

    private const string BinaryOperators = "in, notin, =, ==, !=, gt, lt";

    public List<LabelRequirement>? Parse(out string? error)
    {
        Scan();
        var requirements = new List<LabelRequirement>();
        while (true)
        {
            var (token, literal) = Lookahead(Context.Values);
            switch (token)
            {
                case Token.Identifier:
                case Token.DoesNotExist:
                    var requirement = ParseRequirement(out error);
                    if (requirement is null)
                    {
                        error = "unable to parse requirement: " + error;
                        return null;
                    }

                    requirements.Add(requirement);
                    var (next, nextLiteral) = Consume(Context.Values);
                    switch (next)
                    {
                        case Token.EndOfString:
                            error = null;
                            return requirements;
                        case Token.Comma:
                            var (afterComma, afterLiteral) = Lookahead(Context.Values);
                            if (afterComma is not (Token.Identifier or Token.DoesNotExist))
                            {
                                error = $"found '{afterLiteral}', expected: identifier after ','";
                                return null;
                            }

                            break;
                        default:
                            error = $"found '{nextLiteral}', expected: ',' or 'end of string'";
                            return null;
                    }

                    break;
                case Token.EndOfString:
                    error = null;
                    return requirements;
                default:
                    error = $"found '{literal}', expected: !, identifier, or 'end of string'";
                    return null;
            }
        }
    }

    private LabelRequirement? ParseRequirement(out string? error)
    {
        var (key, op, hasOperator) = ParseKeyAndInferOperator(out error);
        if (key is null)
        {
            return null;
        }

        if (!hasOperator)
        {
            var (opToken, opLiteral) = Consume(Context.KeyAndOperator);
            switch (opToken)
            {
                case Token.In: op = SelectionOperator.In; break;
                case Token.Equals: op = SelectionOperator.Equals; break;
                case Token.DoubleEquals: op = SelectionOperator.DoubleEquals; break;
                case Token.GreaterThan: op = SelectionOperator.GreaterThan; break;
                case Token.LessThan: op = SelectionOperator.LessThan; break;
                case Token.NotIn: op = SelectionOperator.NotIn; break;
                case Token.NotEquals: op = SelectionOperator.NotEquals; break;
                default:
                    error = $"found '{opLiteral}', expected: {BinaryOperators}";
                    return null;
            }
        }

        string[] values;
        if (op is SelectionOperator.Exists or SelectionOperator.DoesNotExist)
        {
            values = [];
        }
        else
        {
            var set = op is SelectionOperator.In or SelectionOperator.NotIn ? ParseValues(out error) : ParseExactValue(out error);
            if (set is null)
            {
                return null;
            }

            // sets.String.List(): unique and sorted.
            values = [.. set];
            Array.Sort(values, StringComparer.Ordinal);
        }

        error = LabelRequirement.Validate(key, op, values, keyPath: "<nil>");
        return error is null ? new LabelRequirement(key, op, values) : null;
    }

    private (string? Key, SelectionOperator Operator, bool Inferred) ParseKeyAndInferOperator(out string? error)
    {
        var op = SelectionOperator.Equals;
        var inferred = false;
        var (token, literal) = Consume(Context.Values);
        if (token == Token.DoesNotExist)
        {
            op = SelectionOperator.DoesNotExist;
            inferred = true;
            (token, literal) = Consume(Context.Values);
        }

        if (token != Token.Identifier)
        {
            error = $"found '{literal}', expected: identifier";
            return (null, op, false);
        }

        var keyErrors = LabelValidation.IsQualifiedName(literal);
        if (keyErrors.Count > 0)
        {
            // field.Invalid with a nil path renders its field as "<nil>".
            error = LabelRequirement.Invalid("<nil>", LabelRequirement.Quote(literal), string.Join("; ", keyErrors));
            return (null, op, false);
        }

        var (next, _) = Lookahead(Context.Values);
        if (next is Token.EndOfString or Token.Comma && op != SelectionOperator.DoesNotExist)
        {
            op = SelectionOperator.Exists;
            inferred = true;
        }

        error = null;
        return (literal, op, inferred);
    }

    private HashSet<string>? ParseValues(out string? error)
    {
        var (token, literal) = Consume(Context.Values);
        if (token != Token.OpenPar)
        {
            error = $"found '{literal}' expected: '('";
            return null;
        }

        (token, literal) = Lookahead(Context.Values);
        switch (token)
        {
            case Token.Identifier:
            case Token.Comma:
                var set = ParseIdentifiersList(out error);
                if (set is null)
                {
                    return null;
                }

                if (Consume(Context.Values).Token != Token.ClosedPar)
                {
                    error = $"found '{literal}', expected: ')'";
                    return null;
                }

                return set;
            case Token.ClosedPar:
                Consume(Context.Values);
                error = null;
                return [string.Empty];
            default:
                error = $"found '{literal}', expected: ',', ')' or identifier";
                return null;
        }
    }

    private HashSet<string>? ParseIdentifiersList(out string? error)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var (token, literal) = Consume(Context.Values);
            switch (token)
            {
                case Token.Identifier:
                    set.Add(literal);
                    var (next, nextLiteral) = Lookahead(Context.Values);
                    switch (next)
                    {
                        case Token.Comma:
                            continue;
                        case Token.ClosedPar:
                            error = null;
                            return set;
                        default:
                            error = $"found '{nextLiteral}', expected: ',' or ')'";
                            return null;
                    }

                case Token.Comma:
                    // "(," "(a,,b" and ",)" all contribute the empty value.
                    if (set.Count == 0)
                    {
                        set.Add(string.Empty);
                    }

                    var (afterComma, _) = Lookahead(Context.Values);
                    if (afterComma == Token.ClosedPar)
                    {
                        set.Add(string.Empty);
                        error = null;
                        return set;
                    }

                    if (afterComma == Token.Comma)
                    {
                        Consume(Context.Values);
                        set.Add(string.Empty);
                    }

                    break;
                default:
                    error = $"found '{literal}', expected: ',', or identifier";
                    return null;
            }
        }
    }

    private HashSet<string>? ParseExactValue(out string? error)
    {
        var (token, _) = Lookahead(Context.Values);
        if (token is Token.EndOfString or Token.Comma)
        {
            error = null;
            return [string.Empty];
        }

        var (consumed, literal) = Consume(Context.Values);
        if (consumed == Token.Identifier)
        {
            error = null;
            return [literal];
        }

        error = $"found '{literal}', expected: identifier";
        return null;
    }

    private (Token Token, string Literal) Lookahead(Context context) => Map(_items[_position], context);

    private (Token Token, string Literal) Consume(Context context)
    {
        var item = _items[_position];
        if (_position < _items.Count - 1)
        {
            _position++;
        }

        return Map(item, context);
    }

    // In the Values context the keywords "in" and "notin" are ordinary identifiers.
    private static (Token Token, string Literal) Map((Token Token, string Literal) item, Context context) =>
        context == Context.Values && item.Token is Token.In or Token.NotIn ? (Token.Identifier, item.Literal) : item;

    private void Scan()
    {
        while (true)
        {
            var item = Lex();
            _items.Add(item);
            if (item.Token == Token.EndOfString)
            {
                return;
            }
        }
    }

    private (Token Token, string Literal) Lex()
    {
        while (_lexPosition < input.Length && IsWhitespace(input[_lexPosition]))
        {
            _lexPosition++;
        }

        if (_lexPosition >= input.Length)
        {
            return (Token.EndOfString, string.Empty);
        }

        return IsSpecialSymbol(input[_lexPosition]) ? ScanSpecialSymbol() : ScanIdOrKeyword();
    }

    private (Token Token, string Literal) ScanIdOrKeyword()
    {
        var start = _lexPosition;
        while (_lexPosition < input.Length && !IsSpecialSymbol(input[_lexPosition]) && !IsWhitespace(input[_lexPosition]))
        {
            _lexPosition++;
        }

        var literal = input[start.._lexPosition];
        return literal switch
        {
            "in" => (Token.In, literal),
            "notin" => (Token.NotIn, literal),
            _ => (Token.Identifier, literal),
        };
    }

    // Longest run of special characters that still forms an operator ("!=", "=="), as upstream.
    private (Token Token, string Literal) ScanSpecialSymbol()
    {
        var start = _lexPosition;
        var last = (Token: Token.Error, Literal: string.Empty);
        while (_lexPosition < input.Length && IsSpecialSymbol(input[_lexPosition]))
        {
            var candidate = input.AsSpan(start, _lexPosition - start + 1);
            var token = SymbolToken(candidate);
            if (token != Token.Error)
            {
                last = (token, candidate.ToString());
            }
            else if (last.Token != Token.Error)
            {
                break;
            }

            _lexPosition++;
        }

        if (last.Token == Token.Error)
        {
            return (Token.Error, $"error expected: keyword found '{input[start.._lexPosition]}'");
        }

        _lexPosition = start + last.Literal.Length;
        return last;
    }

    private static Token SymbolToken(ReadOnlySpan<char> symbol) => symbol switch
    {
        ")" => Token.ClosedPar,
        "," => Token.Comma,
        "!" => Token.DoesNotExist,
        "==" => Token.DoubleEquals,
        "=" => Token.Equals,
        ">" => Token.GreaterThan,
        "<" => Token.LessThan,
        "!=" => Token.NotEquals,
        "(" => Token.OpenPar,
        _ => Token.Error,
    };

    private static bool IsWhitespace(char c) => c is ' ' or '\t' or '\r' or '\n';

    private static bool IsSpecialSymbol(char c) => c is '=' or '!' or '(' or ')' or ',' or '>' or '<';
}
