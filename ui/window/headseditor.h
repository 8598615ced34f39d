// The heads editor (issue 12, THEORY.md "Heads"): one row per head on the trunk's last
// activation, with its name, layer widths, init scheme, variance gain, output bias and loss
// weight. It edits spec.heads for the control panel (which makes every edit one undo step, as
// for any control); what a row says is checked by validate() (heads[i].field), never here.
#pragma once

#include "spec/spec.h"

#include <QWidget>

#include <vector>

class QPushButton;
class QTableWidget;

namespace initscope::ui {

class HeadsEditor : public QWidget {
    Q_OBJECT
public:
    enum Column { Name, Widths, Scheme, Gain, Bias, Weight, kColumns };

    explicit HeadsEditor(QWidget* parent = nullptr);

    /// The heads the rows describe (a cell that is not a number gives NaN, which validate()
    /// refuses naming the head and the field).
    std::vector<HeadSpec> heads() const;
    /// Shows `heads` without emitting edited().
    void setHeads(const std::vector<HeadSpec>& heads);

    QTableWidget* table() const { return table_; }
    QPushButton* addButton() const { return add_; }
    QPushButton* removeButton() const { return remove_; }
    /// Appends a head (the Add button): a fresh name, `outputs` outputs, lecun-normal.
    void addHead(int outputs = 10);

signals:
    void edited();

private:
    void addRow(const HeadSpec& h);
    void removeCurrent();

    QTableWidget* table_;
    QPushButton* add_;
    QPushButton* remove_;
    bool updating_ = false;
};

} // namespace initscope::ui
