using Berth.Api.Models;
using Berth.Node.Kubelet.Env;

namespace Berth.Node.Tests.Kubelet.Env;

// pkg/kubelet/container/helpers_test.go TestExpandCommandAndArgs
public class ContainerCommandTests
{
    private static readonly KeyValuePair<string, string>[] s_env =
    [
        new("VAR_TEST", "foo"),
        new("VAR_TEST2", "bar"),
    ];

    public static TheoryData<string, string[], string[], string[]> Cases => new()
    {
        { "command expanded", ["foo", "$(VAR_TEST)", "$(VAR_TEST2)"], [], ["foo", "foo", "bar"] },
        { "args expanded", ["run"], ["zap", "$(VAR_TEST)", "$(VAR_TEST2)"], ["run", "zap", "foo", "bar"] },
        { "both expanded", ["$(VAR_TEST2)--$(VAR_TEST)", "foo", "$(VAR_TEST3)"], ["foo", "$(VAR_TEST)", "$(VAR_TEST2)"], ["bar--foo", "foo", "$(VAR_TEST3)", "foo", "foo", "bar"] },
        { "escapes kept", ["sh", "-c", "echo $$HOME $(VAR_TEST)"], [], ["sh", "-c", "echo $HOME foo"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void TryBuild_CommandAndArgs_ExpandedInOrder(string name, string[] command, string[] args, string[] expected)
    {
        var container = new Container { Name = name, Command = [.. command], Args = [.. args] };
        Assert.True(ContainerCommand.TryBuild(container, s_env, out var argv, out var error));
        Assert.Equal(expected, argv);
        Assert.Equal("", error);
    }

    [Fact]
    public void TryBuild_LaterDuplicate_Wins()
    {
        var container = new Container { Name = "c", Command = ["$(A)"] };
        Assert.True(ContainerCommand.TryBuild(container, [new("A", "1"), new("A", "2")], out var argv, out _));
        Assert.Equal(["2"], argv);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TryBuild_NoCommand_ExplainsWhy(bool emptyList)
    {
        string[]? command = emptyList ? [] : null;
        var container = new Container { Name = "web", Image = "nginx:1.27", Command = command is null ? null : [.. command], Args = ["-g", "daemon off;"] };
        Assert.False(ContainerCommand.TryBuild(container, s_env, out var argv, out var error));
        Assert.Empty(argv);
        Assert.Equal(
            "container \"web\" has no command: Berth runs containers as host processes and cannot use the entrypoint of image \"nginx:1.27\"; set the container's command (and args) to the program to run",
            error);
    }
}
