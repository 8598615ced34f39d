// The Inputs view: the first inputs of the batch as the network sees them (after the
// standardisation and the input scale): Fashion-MNIST as 28 x 28 grey images, gaussian and CSV
// inputs as a heatmap of inputs x features. The inputs are made on its own JobWorker (the first
// Fashion-MNIST load reads 30 MB of gzip), never on the GUI thread.
#pragma once

#include "network/weights.h"
#include "spec/spec.h"
#include "work/jobworker.h"

#include <QWidget>

class QLabel;

namespace initscope::ui {

class InputsCanvas;

class InputsView : public QWidget {
    Q_OBJECT
public:
    static constexpr int kShown = 16; // inputs shown (at most the batch)

    explicit InputsView(QWidget* parent = nullptr);

    /// Shows the first inputs of `spec` (recomputed only when the inputs change).
    void setSpec(const NetworkSpec& spec);
    /// The caption: which inputs, their value range.
    QString captionText() const;
    /// True when the inputs shown are images.
    bool showsImages() const;
    /// Inputs shown (columns), 0 before the first result.
    int shownCount() const;
    JobWorker* worker() { return &worker_; }

private:
    void display(const NetworkSpec& spec, MatrixF x);

    JobWorker worker_;
    InputsCanvas* canvas_;
    QLabel* caption_;
    NetworkSpec shown_;
    bool hasShown_ = false;
};

} // namespace initscope::ui
