namespace Berth.Node.Kubelet.Env;

/// <summary>
/// Kubernetes' <c>$(VAR)</c> expansion for env values, command and args (upstream
/// <c>third_party/forked/golang/expansion/expand.go</c>): <c>$$</c> is an escaped <c>$</c>, a reference
/// the lookup does not resolve stays as written, and anything else after <c>$</c> is copied unchanged.
/// </summary>
public static class VariableExpansion
{
    private const char Operator = '$';
    private const char ReferenceOpener = '(';
    private const char ReferenceCloser = ')';

    /// <param name="input">The text to expand.</param>
    /// <param name="lookup">Returns a variable's value, or null when it is not defined.</param>
    public static string Expand(string input, Func<string, string?> lookup)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(lookup);
        if (!input.Contains(Operator))
        {
            return input;
        }

        var result = new System.Text.StringBuilder(input.Length);
        var checkpoint = 0;
        for (var cursor = 0; cursor < input.Length; cursor++)
        {
            // A '$' that ends the input is not an operator: it is copied with the rest.
            if (input[cursor] != Operator || cursor + 1 >= input.Length)
            {
                continue;
            }

            result.Append(input, checkpoint, cursor - checkpoint);
            var (read, isVariable, advance) = TryReadVariableName(input.AsSpan(cursor + 1));
            if (isVariable)
            {
                result.Append(lookup(read) ?? $"{Operator}{ReferenceOpener}{read}{ReferenceCloser}");
            }
            else
            {
                result.Append(read);
            }

            cursor += advance;
            checkpoint = cursor + 1;
        }

        return result.Append(input, checkpoint, input.Length - checkpoint).ToString();
    }

    // Reads what follows a '$': the name of a complete reference, or the text to copy through as it is
    // (an escaped '$', an unterminated "$(", or '$' and the character after it), and how far that reached.
    private static (string Read, bool IsVariable, int Advance) TryReadVariableName(ReadOnlySpan<char> input)
    {
        switch (input[0])
        {
            case Operator:
                return ("$", false, 1);
            case ReferenceOpener:
                var closer = input.IndexOf(ReferenceCloser);
                return closer > 0
                    ? (input[1..closer].ToString(), true, closer + 1)
                    : ("$(", false, 1);
            default:
                return (string.Concat("$", input[..1]), false, 1);
        }
    }
}
