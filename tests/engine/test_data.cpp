// Real inputs: Fashion-MNIST from the Debian package (counts, shapes, labels, pixel range, the
// training-set standardisation), CSV files the test writes (good, header, every error with its
// exact message), the rules of the data field, the seeded permutation prefix, and runs on real
// images raw vs standardised (scenario 9's preprocessing error) and across thread counts.
#include "core/data.h"
#include "network/engine.h"
#include "network/weights.h"
#include "spec/fields.h"
#include "spec/preset.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>

using namespace initscope;
namespace fs = std::filesystem;

namespace {

bool havePackage() {
    return fs::exists(fs::path(kFashionMnistDir) / "train-images-idx3-ubyte.gz");
}
#define REQUIRE_PACKAGE()                                                                          \
    if (!havePackage())                                                                            \
    GTEST_SKIP() << "Fashion-MNIST is not installed at " << kFashionMnistDir                       \
                 << " (apt-get install dataset-fashion-mnist; scripts/deps.sh installs it)"

fs::path tempDir() {
    const fs::path d = fs::temp_directory_path() / ("initscope-data-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
}

std::string writeFile(const std::string& name, const std::string& text) {
    const fs::path p = tempDir() / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
}

std::string errorOf(auto&& f) {
    try {
        f();
    } catch (const DataError& e) {
        return e.what();
    }
    return "(no error)";
}

std::string joined(const std::vector<SpecError>& errors) {
    std::string s;
    for (const SpecError& e : errors)
        s += e.field + ": " + e.message + "\n";
    return s;
}

NetworkSpec fashionSpec(bool standardize) {
    NetworkSpec s;
    std::vector<SpecError> errors;
    EXPECT_TRUE(applyFields(s,
                            {{"data", "fashion-mnist"},
                             {"standardize", standardize ? "yes" : "no"},
                             {"depth", 5},
                             {"width", 256},
                             {"batch", 128},
                             {"activation", "tanh"},
                             {"seed", 7}},
                            errors))
        << joined(errors);
    return s;
}

} // namespace

// The package's files, read through zlib: 60000 + 10000 images of 28 x 28 bytes, labels 0..9
// with every class present, pixels spanning 0..255. Also the first and the cached load's times.
TEST(FashionMnist, PackageHasTheDocumentedShape) {
    REQUIRE_PACKAGE();
    clearDataCache();
    const auto t0 = std::chrono::steady_clock::now();
    const auto d = loadFashionMnist();
    const auto t1 = std::chrono::steady_clock::now();
    const auto again = loadFashionMnist();
    const auto t2 = std::chrono::steady_clock::now();
    std::cout << "first load " << std::chrono::duration<double>(t1 - t0).count()
              << " s, cached load " << std::chrono::duration<double>(t2 - t1).count() * 1e6
              << " us\n";
    EXPECT_EQ(d.get(), again.get()) << "the second load must be the cached data set";
    EXPECT_EQ(d->trainCount, 60000);
    EXPECT_EQ(d->testCount, 10000);
    EXPECT_EQ(d->imageRows, 28);
    EXPECT_EQ(d->imageCols, 28);
    EXPECT_EQ(d->dim, 784);
    EXPECT_EQ(d->trainPixels.size(), 60000u * 784u);
    EXPECT_EQ(d->testPixels.size(), 10000u * 784u);
    ASSERT_EQ(d->trainLabels.size(), 60000u);
    ASSERT_EQ(d->testLabels.size(), 10000u);
    std::set<int> classes(d->trainLabels.begin(), d->trainLabels.end());
    EXPECT_EQ(classes.size(), 10u);
    EXPECT_EQ(*classes.begin(), 0);
    EXPECT_EQ(*classes.rbegin(), 9);
    EXPECT_EQ(*std::max_element(d->testLabels.begin(), d->testLabels.end()), 9);
    EXPECT_EQ(*std::min_element(d->trainPixels.begin(), d->trainPixels.end()), 0);
    EXPECT_EQ(*std::max_element(d->trainPixels.begin(), d->trainPixels.end()), 255);
    std::vector<float> x(784);
    d->rawExample(123, x.data());
    for (int j = 0; j < 784; ++j)
        ASSERT_EQ(x[static_cast<std::size_t>(j)], d->trainPixels[123u * 784u + std::size_t(j)]);
}

// Standardised with the training set's own statistics, every feature of the training set has
// mean 0 and std 1 (features with no spread: all 0). Each standardised value is a float with
// relative rounding 2^-24 = 6e-8 and |z| <= sqrt(60000) = 245, so the measured mean is off by
// at most 1.5e-5 and the std by about as much: 1e-4 is a bound, not a fit.
TEST(FashionMnist, StandardizedTrainingSetHasMeanZeroStdOne) {
    REQUIRE_PACKAGE();
    const auto d = loadFashionMnist();
    std::vector<double> sum(784, 0.0), sum2(784, 0.0);
    std::vector<float> z(784);
    for (int i = 0; i < d->trainCount; ++i) {
        d->standardizedExample(i, z.data());
        for (std::size_t j = 0; j < 784; ++j) {
            sum[j] += z[j];
            sum2[j] += double(z[j]) * z[j];
        }
    }
    int flat = 0;
    for (std::size_t j = 0; j < 784; ++j) {
        const double m = sum[j] / d->trainCount;
        const double sd = std::sqrt(sum2[j] / d->trainCount - m * m);
        EXPECT_NEAR(m, 0.0, 1e-4) << "feature " << j;
        if (d->stddev[j] > 0)
            EXPECT_NEAR(sd, 1.0, 1e-4) << "feature " << j;
        else {
            ++flat;
            EXPECT_EQ(sd, 0.0) << "feature " << j;
        }
    }
    std::cout << flat << " features without spread\n";
}

TEST(FashionMnist, MissingFilesNameThePathAndThePackage) {
    const fs::path empty = tempDir() / "empty-fashion";
    fs::create_directories(empty);
    EXPECT_EQ(errorOf([&] { loadFashionMnist(empty.string()); }),
              "data: " + (empty / "train-images-idx3-ubyte.gz").string() +
                  " not found (install the Debian package dataset-fashion-mnist)");
}

TEST(Idx, BadMagicTruncatedAndMissingNameThePath) {
    const std::string bad = writeFile("bad.idx", std::string("\x01\x02\x08\x01", 4));
    EXPECT_EQ(errorOf([&] { readIdx(bad); }),
              "data: " + bad +
                  " is not an IDX file (bad magic number: the first two bytes must be 0)");
    // dims 2 x 5 = 10 bytes announced, 4 present (zlib reads a plain file as it is)
    const std::string cut = writeFile("cut.idx", std::string("\0\0\x08\x02\0\0\0\x02\0\0\0\x05"
                                                             "abcd",
                                                             16));
    EXPECT_EQ(errorOf([&] { readIdx(cut); }),
              "data: " + cut + " is truncated: the data needs 10 bytes, the file has 4");
    const std::string shortHead = writeFile("head.idx", std::string("\0\0\x08\x03\0\0", 6));
    EXPECT_EQ(errorOf([&] { readIdx(shortHead); }),
              "data: " + shortHead +
                  " is truncated: IDX dimension 1 needs 4 bytes, the file has 2");
    const std::string good =
        writeFile("good.idx", std::string("\0\0\x08\x02\0\0\0\x02\0\0\0\x02\x01\x02\x03\xff", 16));
    const IdxArray a = readIdx(good);
    EXPECT_EQ(a.dims, (std::vector<int>{2, 2}));
    EXPECT_EQ(a.bytes, (std::vector<std::uint8_t>{1, 2, 3, 255}));
    EXPECT_EQ(errorOf([] { readIdx("/nonexistent/x.gz"); }), "data: /nonexistent/x.gz not found");
}

TEST(Csv, ReadsNumbersWithOrWithoutHeaderAndItsStatistics) {
    const std::string plain = writeFile("plain.csv", "1,2,3\n3,2,-1\r\n\n5, 2 ,1e1\n");
    const auto d = loadCsv(plain);
    EXPECT_EQ(d->dim, 3);
    EXPECT_EQ(d->trainCount, 3);
    EXPECT_TRUE(d->header.empty());
    EXPECT_EQ(d->trainValues, (std::vector<float>{1, 2, 3, 3, 2, -1, 5, 2, 10}));
    EXPECT_DOUBLE_EQ(d->mean[0], 3.0);
    EXPECT_DOUBLE_EQ(d->stddev[0], std::sqrt(8.0 / 3.0));
    EXPECT_EQ(d->stddev[1], 0.0);
    std::vector<float> z(3);
    d->standardizedExample(0, z.data());
    EXPECT_FLOAT_EQ(z[0], static_cast<float>(-2.0 / std::sqrt(8.0 / 3.0)));
    EXPECT_EQ(z[1], 0.0f) << "a feature without spread is centred, never divided by 0";
    const std::string header = writeFile("header.csv", "a,b\n0.5,1\n1.5,3\n");
    const auto h = loadCsv(header);
    EXPECT_EQ(h->header, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(h->trainCount, 2);
    EXPECT_EQ(h->dim, 2);
}

// A preset that names its CSV by a relative path finds it next to itself, wherever initscope was
// started; the spec then holds the resolved path, so a saved copy keeps pointing at the file.
TEST(Csv, RelativePathInAPresetIsTheFilesFolders) {
    const fs::path dir = tempDir() / "lesson";
    fs::create_directories(dir / "data");
    {
        std::ofstream(dir / "data" / "two.csv") << "a,b\n1,2\n3,4\n";
        std::ofstream(dir / "lesson.json")
            << R"({"format": "initscope-preset", "version": 1, "name": "csv-lesson",
                   "spec": {"data": "data/two.csv", "input_dim": 2, "depth": 3, "width": 8,
                            "batch": 2}})";
    }
    const fs::path before = fs::current_path();
    fs::current_path(fs::temp_directory_path()); // not the preset's folder
    const PresetParse r = readPresetFile((dir / "lesson.json").string());
    fs::current_path(before);
    ASSERT_TRUE(r.preset) << (r.errors.empty() ? "" : r.errors.front().message);
    EXPECT_EQ(r.preset->spec.data, (dir / "data" / "two.csv").lexically_normal().string());
    // without a folder (text from elsewhere) the path stays as written and is looked up from the
    // working directory, where it does not exist: the error names the path
    std::ifstream in(dir / "lesson.json");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const PresetParse plain = parsePreset(text);
    ASSERT_FALSE(plain.preset);
    EXPECT_NE(plain.errors.front().message.find("data/two.csv"), std::string::npos)
        << plain.errors.front().message;
}

TEST(Csv, ErrorsNameThePathLineAndColumn) {
    std::string rows;
    for (int i = 1; i <= 16; ++i)
        rows += "1,2,3,4,5\n";
    const std::string ragged = writeFile("ragged.csv", rows + "1,2,3,4\n");
    EXPECT_EQ(errorOf([&] { loadCsv(ragged); }),
              "data: " + ragged + " line 17: expected 5 numbers, got 4");
    const std::string word = writeFile("word.csv", "x,y,z\n1,2,abc\n");
    EXPECT_EQ(errorOf([&] { loadCsv(word); }),
              "data: " + word + " line 2: not a number 'abc' in column 3");
    const std::string mixed = writeFile("mixed.csv", "1,2,abc\n");
    EXPECT_EQ(errorOf([&] { loadCsv(mixed); }),
              "data: " + mixed + " line 1: not a number 'abc' in column 3");
    const std::string infinite = writeFile("inf.csv", "1,inf\n");
    EXPECT_EQ(errorOf([&] { loadCsv(infinite); }),
              "data: " + infinite +
                  " line 1: 'inf' in column 2 is not a finite number of float range");
    const std::string empty = writeFile("onlyheader.csv", "a,b\n");
    EXPECT_EQ(errorOf([&] { loadCsv(empty); }), "data: " + empty + " has no rows of numbers");
    EXPECT_EQ(errorOf([] { loadCsv("/nonexistent/f.csv"); }), "data: /nonexistent/f.csv not found");
}

// A changed file is read again (the cache is keyed by path and modification time).
TEST(Csv, CacheFollowsTheFile) {
    const std::string p = writeFile("changes.csv", "1,2\n");
    const auto a = loadCsv(p);
    EXPECT_EQ(loadCsv(p).get(), a.get());
    std::ofstream(p, std::ios::binary) << "1,2,3\n4,5,6\n";
    fs::last_write_time(p, fs::last_write_time(p) + std::chrono::seconds(5));
    const auto b = loadCsv(p);
    EXPECT_NE(b.get(), a.get());
    EXPECT_EQ(b->dim, 3);
}

// The data field's rules: data alone sets input_dim; a conflicting input_dim, an input mean with
// real data, standardize with gaussian inputs and a batch above the data's examples are refused
// naming both fields.
TEST(DataFields, RulesNameBothFields) {
    const std::string csv = writeFile("four.csv", "1,2,3,4\n2,3,4,5\n3,4,5,6\n");
    NetworkSpec s;
    std::vector<SpecError> errors;
    ASSERT_TRUE(applyFields(s, {{"data", csv}, {"batch", 3}}, errors)) << joined(errors);
    EXPECT_EQ(s.inputDim, 4);
    EXPECT_TRUE(validateFields(s).empty()) << joined(validateFields(s));

    NetworkSpec conflict = s;
    conflict.inputDim = 5;
    auto e = validateFields(conflict);
    ASSERT_EQ(e.size(), 1u) << joined(e);
    EXPECT_EQ(e[0].field, "input_dim");
    EXPECT_EQ(e[0].message, "input_dim: 5 conflicts with data " + csv +
                                ", which has 4 features (the data sets input_dim: leave "
                                "input_dim out or set it to 4)");

    NetworkSpec big = s;
    big.batch = 4;
    e = validateFields(big);
    ASSERT_EQ(e.size(), 1u) << joined(e);
    EXPECT_EQ(e[0].message,
              "batch: 4 is more than the 3 training examples of data " + csv + " (lower batch)");

    NetworkSpec mean = s;
    mean.inputMean = 0.5;
    e = validateFields(mean);
    ASSERT_EQ(e.size(), 1u) << joined(e);
    EXPECT_EQ(e[0].field, "input_mean");
    EXPECT_NE(e[0].message.find("data " + csv), std::string::npos) << e[0].message;

    NetworkSpec g;
    g.standardize = false;
    e = validateFields(g);
    ASSERT_EQ(e.size(), 1u) << joined(e);
    EXPECT_EQ(e[0].message, "standardize: no is ignored by data gaussian (standardize needs data "
                            "fashion-mnist or FILE.csv): change data gaussian or leave "
                            "standardize out");
    NetworkSpec g2;
    errors.clear();
    EXPECT_FALSE(applyFields(g2, {{"standardize", "yes"}}, errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].field, "standardize");
    EXPECT_NE(errors[0].message.find("data is gaussian"), std::string::npos);

    // an explicit input_dim that agrees is fine, one that does not is refused by validate
    NetworkSpec explicitDim;
    errors.clear();
    ASSERT_TRUE(applyFields(explicitDim, {{"data", csv}, {"input_dim", 7}, {"batch", 2}}, errors));
    EXPECT_EQ(explicitDim.inputDim, 7);
    EXPECT_EQ(validateFields(explicitDim).size(), 1u);

    // not a data name, and a missing file named with its path
    NetworkSpec bad;
    errors.clear();
    EXPECT_FALSE(applyFields(bad, {{"data", "mnist"}}, errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].message, "data: must be gaussian, fashion-mnist or a path ending in .csv "
                                 "(got \"mnist\")");
    NetworkSpec missing;
    errors.clear();
    EXPECT_TRUE(applyFields(missing, {{"data", "/nonexistent/d.csv"}}, errors));
    e = validateFields(missing);
    ASSERT_EQ(e.size(), 1u) << joined(e);
    EXPECT_EQ(e[0].field, "data");
    EXPECT_EQ(e[0].message, "data: /nonexistent/d.csv not found");
}

// Presets: the fields are written only when not the default and read back to the same spec.
TEST(DataFields, RoundTripAndDefaultsStayOut) {
    const nlohmann::json d = specToJson(NetworkSpec{});
    EXPECT_FALSE(d.contains("data"));
    EXPECT_FALSE(d.contains("standardize"));
    const std::string csv = writeFile("rt.csv", "1,2\n3,4\n");
    NetworkSpec s;
    std::vector<SpecError> errors;
    ASSERT_TRUE(applyFields(s, {{"data", csv}, {"standardize", "no"}, {"batch", 2}}, errors));
    const nlohmann::json j = specToJson(s);
    EXPECT_EQ(j.at("data"), csv);
    EXPECT_EQ(j.at("standardize"), "no");
    NetworkSpec back;
    ASSERT_TRUE(specFromJson(j, back, errors)) << joined(errors);
    EXPECT_EQ(back, s);
}

// Input b is the same training example whatever the count (the Jacobian and NTK probes are the
// batch's first inputs), the indices are distinct, and input_scale multiplies the data.
TEST(DataInputs, SeededPermutationPrefixTimesInputScale) {
    const auto p8 = dataPermutationPrefix(3, 1000, 8);
    const auto p100 = dataPermutationPrefix(3, 1000, 100);
    ASSERT_EQ(p8.size(), 8u);
    EXPECT_TRUE(std::equal(p8.begin(), p8.end(), p100.begin()));
    EXPECT_EQ(std::set<int>(p100.begin(), p100.end()).size(), 100u);
    EXPECT_NE(dataPermutationPrefix(4, 1000, 8), p8) << "another seed, other examples";
    const auto all = dataPermutationPrefix(3, 50, 50);
    EXPECT_EQ(std::set<int>(all.begin(), all.end()).size(), 50u);

    std::string rows;
    for (int i = 0; i < 40; ++i)
        rows += std::to_string(i) + "," + std::to_string(2 * i) + "\n";
    const std::string csv = writeFile("forty.csv", rows);
    NetworkSpec s;
    std::vector<SpecError> errors;
    ASSERT_TRUE(
        applyFields(s, {{"data", csv}, {"standardize", "no"}, {"batch", 40}, {"seed", 9}}, errors));
    const MatrixF x5 = drawInputs(s, 5), x40 = drawInputs(s, 40);
    EXPECT_EQ(x5, x40.leftCols(5));
    const auto idx = dataPermutationPrefix(9, 40, 40);
    for (int b = 0; b < 40; ++b) {
        EXPECT_EQ(x40(0, b), static_cast<float>(idx[std::size_t(b)]));
        EXPECT_EQ(x40(1, b), static_cast<float>(2 * idx[std::size_t(b)]));
    }
    NetworkSpec scaled = s;
    scaled.inputScale = 2.5;
    EXPECT_EQ(drawInputs(scaled, 5), (2.5f * x5.array()).matrix());
}

// Scenario 9 on real images: raw pixels (0..255) put q^0 = E|x|^2 / N_0 in the thousands, so
// tanh's first layer is saturated for nearly every unit and input; standardised pixels give
// q^0 ~ 1 and few saturated units. The engine's q^0 is the batch's, computed here from the same
// inputs; the data set's own E[x^2] (mean^2 + std^2 averaged over pixels) is beside it, within
// the sampling error of 128 images (relative std of |x|^2 across images ~0.5: 4.4 % for the
// mean of 128; 20 % is over 4 sigma).
TEST(DataRun, RawPixelsSaturateTanhStandardizedDoNot) {
    REQUIRE_PACKAGE();
    const auto d = loadFashionMnist();
    double ex2 = 0;
    for (int j = 0; j < 784; ++j)
        ex2 += d->mean[std::size_t(j)] * d->mean[std::size_t(j)] +
               d->stddev[std::size_t(j)] * d->stddev[std::size_t(j)];
    ex2 /= 784;
    Engine engine;
    const NetworkSpec raw = fashionSpec(false), stdz = fashionSpec(true);
    ASSERT_TRUE(validate(raw).empty()) << joined(validate(raw));
    EXPECT_EQ(raw.inputDim, 784);
    const RunResult r = engine.run(raw), z = engine.run(stdz);
    const MatrixF x = drawInputs(raw, raw.batch);
    const double q0 = x.cast<double>().squaredNorm() / (784.0 * raw.batch);
    std::cout << "raw q0 " << r.theory.q0 << " (data set E[x^2] " << ex2 << ", sqrt "
              << std::sqrt(ex2) << "), standardised q0 " << z.theory.q0 << "; saturated "
              << r.layers[0].saturatedFraction << " vs " << z.layers[0].saturatedFraction << "\n";
    EXPECT_NEAR(r.theory.q0, q0, 1e-6 * q0);
    EXPECT_NEAR(r.theory.q0, ex2, 0.2 * ex2);
    EXPECT_GT(r.theory.q0, 1000.0);
    // h^1 ~ N(0, q^0) per unit: |phi'| < 0.05 means |h| > atanh(sqrt(0.95)) = 2.18, so raw
    // (sd ~ 100) leaves ~2 % unsaturated, standardised (sd ~ 1) saturates ~3 %.
    EXPECT_GT(r.layers[0].saturatedFraction, 0.95);
    EXPECT_NEAR(z.theory.q0, 1.0, 0.25);
    EXPECT_LT(z.layers[0].saturatedFraction, 0.1);
}

// Real inputs give the same results whatever the thread count, bit for bit.
TEST(DataRun, IdenticalAcrossThreadCounts) {
    REQUIRE_PACKAGE();
    NetworkSpec s = fashionSpec(true);
    s.batch = 200; // a ragged last chunk of columns
    Engine e1, e2;
    s.threads = 1;
    const RunResult a = e1.run(s);
    s.threads = 2;
    const RunResult b = e2.run(s);
    ASSERT_EQ(a.layers.size(), b.layers.size());
    for (std::size_t l = 0; l < a.layers.size(); ++l) {
        EXPECT_EQ(a.layers[l].q, b.layers[l].q) << l;
        EXPECT_EQ(a.layers[l].gradH2, b.layers[l].gradH2) << l;
        EXPECT_EQ(a.layers[l].correlation, b.layers[l].correlation) << l;
    }
    EXPECT_EQ(a.inputGrad2, b.inputGrad2);
    EXPECT_EQ(a.theory.q0, b.theory.q0);
}
