// The export dialog (Ctrl+E): the visible chart or every chart, as PNG (chosen size and scale),
// SVG, PDF or CSV, in the lecture style or as on screen, to a chosen file.
#pragma once

#include "export/figure.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLineEdit;
class QSpinBox;

namespace initscope::ui {

struct ExportRequest {
    bool everyView = false; // else only `view`
    QString view;           // the visible view
    QString path;           // for every view: "<dir>/<stem>-<view>.<suffix>" per view
    FigureOptions options;
};

/// The files an export request writes, one per view, in order.
QStringList exportPaths(const ExportRequest& request, const QStringList& views);

class ExportDialog : public QDialog {
    Q_OBJECT
public:
    explicit ExportDialog(const QString& view, QWidget* parent = nullptr);
    ExportRequest request() const;

private:
    void browse();
    void updateEnabled();

    QString view_;
    QComboBox* which_;
    QComboBox* format_;
    QSpinBox* width_;
    QSpinBox* height_;
    QDoubleSpinBox* scale_;
    QCheckBox* lecture_;
    QLineEdit* path_;
};

} // namespace initscope::ui
