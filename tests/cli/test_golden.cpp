// Golden results: the JSON (minus "seconds") of every bundled preset's run and of a few
// jacobian, ntk, ensemble and sweep calls, recorded before the engine was rebuilt as a network of
// stages (DESIGN.md). They must stay byte-identical: the same spec and seed give the same draws
// and the same arithmetic, so any difference is a change in behaviour, not noise.
//
// To record them anew (only for a deliberate, explained change in the numbers):
//   INITSCOPE_UPDATE_GOLDEN=1 ./test_golden
//
// The products go through OpenBLAS, which picks its kernels by the CPU at run time. The goldens
// hold the results of its AVX2 kernels (its "Haswell" core, which it also picks on AMD Zen 1-3).
// On a CPU with AVX-512 it picks other kernels (e.g. "Cooperlake" on AMD Zen 4), whose register
// tiles round differently: every golden then differs at about 1e-8 relative, which says nothing
// about the engine. So the CLI runs here pinned to that core (OPENBLAS_CORETYPE), and the guard
// stays byte-exact on every x86-64 CPU with AVX2 and FMA; a CPU without them skips it.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <vector>

using json = nlohmann::json;

namespace {

struct Case {
    std::string name; // golden file name (without .json)
    std::string args; // initscope-cli arguments
};

std::vector<Case> cases() {
    std::vector<Case> c;
    for (const char* preset : {"adversarial-sensitivity",
                               "deep-linear-growing",
                               "deep-linear-shrinking",
                               "he-relu",
                               "naive-normal-exploding",
                               "naive-normal-vanishing",
                               "ntk-conditioning",
                               "relu-input-scale",
                               "relu-mean-shift",
                               "symmetry-constant",
                               "tanh-chaotic",
                               "tanh-edge-of-chaos",
                               "tanh-input-scale",
                               "tanh-ordered",
                               "xavier-relu",
                               "xavier-tanh",
                               "resnet-zero-gamma",
                               "resnet-he-doubling",
                               "resnet-inv-sqrt-depth",
                               "resnet-fixup",
                               "cnn-correct-fan-in",
                               "cnn-forgotten-k2",
                               "cnn-delta-orthogonal",
                               "rnn-memory-vanishing",
                               "rnn-exploding",
                               "rnn-orthogonal",
                               "rnn-identity"})
        c.push_back({std::string("run-") + preset, std::string("run --preset ") + preset});
    c.push_back({"run-histograms-he-relu", "run --preset he-relu --depth 12 --histograms"});
    c.push_back({"run-orthogonal-bias", "run --init orthogonal --sigma-w2 1.3 --sigma-b2 0.05 "
                                        "--depth 20 --width 96 --input-dim 40 --batch 70"});
    c.push_back({"run-widths-mse", "run --depth 4 --widths 30,70,50,10 --input-dim 20 --batch 65 "
                                   "--loss mse --activation relu --init he-uniform"});
    c.push_back({"jacobian-tanh-gauss", "jacobian --preset tanh-edge-of-chaos --depth 20 "
                                        "--width 64 --input-dim 64 --inputs 3"});
    c.push_back({"jacobian-orthogonal", "jacobian --init orthogonal --activation tanh --depth 15 "
                                        "--width 48 --input-dim 32 --inputs 2"});
    c.push_back({"jacobian-wide-out", "jacobian --activation relu --init he-normal --depth 6 "
                                      "--width 40 --input-dim 90 --inputs 2"});
    c.push_back({"ntk-conditioning", "ntk --preset ntk-conditioning --depth 12 --width 128"});
    c.push_back({"ntk-relu", "ntk --activation relu --init he-normal --depth 8 --width 64 "
                             "--input-dim 32 --inputs 12 --sigma-b2 0.1"});
    c.push_back(
        {"ensemble-tanh", "ensemble --preset tanh-ordered --seeds 3 --depth 10 --width 64"});
    c.push_back({"jacobian-resnet", "jacobian --preset resnet-inv-sqrt-depth --depth 6 --width 32 "
                                    "--inputs 2"});
    c.push_back({"jacobian-cnn", "jacobian --preset cnn-delta-orthogonal --depth 6 --inputs 2"});
    c.push_back({"sweep-gain", "sweep --sweep gain=0.5:2:3 --depth 8 --width 48 --batch 32"});
    return c;
}

/// Removes every "seconds" member, at any depth: the only field allowed to differ.
void stripSeconds(json& j) {
    if (j.is_object()) {
        j.erase("seconds");
        for (auto& [k, v] : j.items())
            stripSeconds(v);
    } else if (j.is_array()) {
        for (auto& v : j)
            stripSeconds(v);
    }
}

std::string runCli(const std::string& args, int& status) {
    const std::string cmd = std::string(INITSCOPE_CLI) + " " + args + " 2>&1";
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) {
        status = -1;
        return out;
    }
    std::array<char, 65536> buf;
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
        out.append(buf.data(), n);
    const int st = ::pclose(p);
    status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

/// OpenBLAS's core whose results the goldens hold; "" when this CPU cannot run it.
const char* goldenBlasCore() {
#if defined(__x86_64__) || defined(__i386__)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
#endif
    return "";
}

class Golden : public ::testing::TestWithParam<Case> {};

TEST_P(Golden, ByteIdentical) {
    const Case& c = GetParam();
    const std::string core = goldenBlasCore();
    if (core.empty())
        GTEST_SKIP() << "the goldens hold OpenBLAS's AVX2 (Haswell) results; this CPU has no AVX2 "
                        "and FMA, so its last bits differ by construction";
    ::setenv("OPENBLAS_CORETYPE", core.c_str(), 1); // read by the CLI that runCli starts
    int status = 0;
    const std::string out = runCli(c.args, status);
    ASSERT_EQ(status, 0) << c.args << "\n" << out;
    json j = json::parse(out);
    stripSeconds(j);
    const std::string text = j.dump(1) + "\n";
    const std::filesystem::path file =
        std::filesystem::path(INITSCOPE_GOLDEN_DIR) / (c.name + ".json");
    if (std::getenv("INITSCOPE_UPDATE_GOLDEN")) {
        std::ofstream(file) << text;
        GTEST_SKIP() << "recorded " << file;
    }
    std::ifstream in(file);
    ASSERT_TRUE(in) << "no golden file " << file << " (record with INITSCOPE_UPDATE_GOLDEN=1)";
    const std::string golden((std::istreambuf_iterator<char>(in)), {});
    if (text == golden)
        return;
    // name the first difference, not a 100 kB dump
    std::size_t i = 0;
    while (i < text.size() && i < golden.size() && text[i] == golden[i])
        ++i;
    const std::size_t from = i > 200 ? i - 200 : 0;
    FAIL() << c.args << ": differs from " << file << " at byte " << i << "\n--- golden:\n"
           << golden.substr(from, 400) << "\n--- now:\n"
           << text.substr(from, 400);
}

INSTANTIATE_TEST_SUITE_P(Cli, Golden, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& p) {
                             std::string n = p.param.name;
                             for (char& ch : n)
                                 if (ch == '-')
                                     ch = '_';
                             return n;
                         });

} // namespace
